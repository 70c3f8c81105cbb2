"""The outbox: one Delivery per (booking, target), and a row for every attempt."""

from django.conf import settings
from django.db import models

from bookings.models import Booking, BookingChange
from integrations.models.connection import SalesforceConnection
from integrations.models.mapping import SyncTarget


class Delivery(models.Model):
    """A booking on its way to one Salesforce object. Created in the booking's own
    transaction (transactional outbox); moved along only by integrations.delivery services.

    pending → sending → sent | retrying (→ sending …) | failed | held; failed/held may be
    resent (→ pending) or dismissed (kept for audit).

    A `post` writes the booking (one per booking and target); a `write_back` applies one
    later change of it (`change`: rescheduled, cancelled, no-show, completed) to the
    records its `post` wrote — only after that post is sent, in the order of the changes.
    A later change may make an unsent write-back `superseded` (kept, never sent).
    """

    tenant_path = "booking__page__tenant"

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        SENDING = "sending", "Sending"
        SENT = "sent", "Sent"
        RETRYING = "retrying", "Retrying"
        FAILED = "failed", "Failed"
        HELD = "held", "Held"
        DISMISSED = "dismissed", "Dismissed"
        SUPERSEDED = "superseded", "Superseded"

    class Kind(models.TextChoices):
        POST = "post", "Post"
        WRITE_BACK = "write_back", "Write-back"

    booking = models.ForeignKey(Booking, on_delete=models.CASCADE, related_name="deliveries")
    target = models.ForeignKey(
        SyncTarget, on_delete=models.SET_NULL, null=True, blank=True, related_name="deliveries"
    )
    # PROTECT: removing a connection must never silently drop pending bookings. Its
    # lookups use delivery_connection_status (connection first).
    connection = models.ForeignKey(
        SalesforceConnection, on_delete=models.PROTECT, related_name="deliveries", db_index=False
    )
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.POST)
    change = models.ForeignKey(
        BookingChange, on_delete=models.CASCADE, null=True, blank=True, db_index=False,
        related_name="deliveries", help_text="Write-backs: the change they apply.",
    )  # fmt: skip
    post = models.ForeignKey(
        "self", on_delete=models.CASCADE, null=True, blank=True, related_name="write_backs",
        db_index=False, help_text="Write-backs: the post whose records they change.",
    )  # fmt: skip
    sobject = models.CharField("Salesforce object", max_length=100)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    retries = models.PositiveIntegerField(
        default=0,
        help_text="Transient failures since it was last queued by staff or a reconnect: "
        "the step of the retry schedule.",
    )
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    claimed_at = models.DateTimeField(null=True, blank=True, help_text="When sending began.")
    lease_until = models.DateTimeField(
        null=True,
        blank=True,
        help_text="A running push renews its claim until then; a lapsed claim is taken back.",
    )
    claim_token = models.UUIDField(null=True, blank=True, editable=False)
    sf_record_id = models.CharField("Salesforce record id", max_length=18, blank=True)
    person_object = models.CharField(
        max_length=20, blank=True, help_text="Lead or Contact: what the person turned out to be."
    )
    event_id = models.CharField("Salesforce Event id", max_length=18, blank=True)
    steps = models.JSONField(
        default=dict,
        blank=True,
        help_text="Each step's outcome (find, person, event, campaign, owner): a retry "
        "resumes at the step that failed and never repeats a write that succeeded.",
    )
    payload = models.JSONField(null=True, blank=True, help_text="The record as last sent.")
    last_error_code = models.CharField(max_length=100, blank=True)
    last_error_message = models.TextField(blank=True)
    last_error_fields = models.JSONField(default=list, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    dismissed_at = models.DateTimeField(null=True, blank=True)
    dismissed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
        related_name="+", db_index=False,
    )  # fmt: skip
    dismissed_reason = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "deliveries"
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["booking", "target"],
                condition=models.Q(kind="post"),
                name="delivery_unique_target",
            ),
            models.UniqueConstraint(
                fields=["change", "target"],
                condition=models.Q(kind="write_back"),
                name="delivery_unique_change_target",
            ),
        ]
        # Every index is written by every booking's insert and by each status change of
        # the push (those are never HOT updates: status is indexed). The ones a column
        # is mostly empty in (a post has no change, post, dismisser or error) are partial,
        # so a booking's post pays only for what finds it.
        indexes = [
            models.Index(fields=["status", "next_attempt_at"], name="delivery_due"),
            models.Index(fields=["connection", "status"], name="delivery_connection_status"),
            models.Index(
                fields=["last_error_code"],
                condition=~models.Q(last_error_code=""),
                name="delivery_failed_code",
            ),
            models.Index(
                fields=["change"], condition=models.Q(change__isnull=False), name="delivery_change"
            ),
            models.Index(
                fields=["post"], condition=models.Q(post__isnull=False), name="delivery_post"
            ),
            models.Index(
                fields=["dismissed_by"],
                condition=models.Q(dismissed_by__isnull=False),
                name="delivery_dismissed_by",
            ),
        ]

    def __str__(self) -> str:
        if self.kind == self.Kind.WRITE_BACK:
            return f"Write-back {self.pk} ({self.status})"
        return f"Booking {self.booking_id} → {self.sobject} ({self.status})"

    @property
    def is_write_back(self) -> bool:
        return self.kind == self.Kind.WRITE_BACK


class DeliveryAttempt(models.Model):
    """One try at sending one delivery: what went out and what Salesforce answered."""

    tenant_path = "delivery__booking__page__tenant"

    class Outcome(models.TextChoices):
        SENT = "sent", "Sent"
        RETRY = "retry", "Will retry"
        FAILED = "failed", "Failed"
        HELD = "held", "Held"

    delivery = models.ForeignKey(Delivery, on_delete=models.CASCADE, related_name="attempt_log")
    started_at = models.DateTimeField()
    duration_ms = models.PositiveIntegerField(default=0)
    operation = models.CharField(
        max_length=200, blank=True, help_text="upsert, create, collection upsert, pre-send check…"
    )
    api_call_id = models.UUIDField(
        null=True, blank=True, help_text="Shared by the records of one Salesforce call."
    )
    outcome = models.CharField(max_length=10, choices=Outcome.choices)
    http_status = models.PositiveSmallIntegerField(null=True, blank=True)
    error_code = models.CharField(max_length=100, blank=True)
    message = models.TextField(blank=True)
    fields = models.JSONField(default=list, blank=True)
    sf_record_id = models.CharField(max_length=18, blank=True)

    class Meta:
        ordering = ["-started_at"]
        indexes = [models.Index(fields=["delivery", "-started_at"], name="attempt_delivery")]

    def __str__(self) -> str:
        return f"{self.outcome} {self.error_code}".strip()

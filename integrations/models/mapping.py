"""What a booking page posts to Salesforce: targets, field mappings, cached schemas."""

from django.db import models

from bookings.models import BookingPage
from integrations.models.connection import SalesforceConnection
from integrations.salesforce import people
from integrations.salesforce.mapping import SourceKind as CoreSourceKind
from integrations.salesforce.schema import WriteMode as CoreWriteMode

DEFAULT_EVENT_SUBJECT = "{page} with {guest_name}"


class SObjectSchema(models.Model):
    """The describe of one sObject as the connected user sees it, cached: admin forms and
    the pre-send check read it instead of calling Salesforce. Refreshed on demand and daily.
    Interpret it only through integrations.salesforce.schema."""

    tenant_path = "connection__tenant"

    connection = models.ForeignKey(
        SalesforceConnection, on_delete=models.CASCADE, related_name="schemas"
    )
    sobject = models.CharField(max_length=100)
    describe = models.JSONField()
    fetched_at = models.DateTimeField()

    class Meta:
        verbose_name = "cached Salesforce schema"
        constraints = [
            models.UniqueConstraint(fields=["connection", "sobject"], name="schema_unique_object")
        ]

    def __str__(self) -> str:
        return f"{self.sobject} fields ({self.connection.tenant})"


class SyncTarget(models.Model):
    """'Post to Salesforce' for one booking page and one sObject (Lead first; any object
    by configuration): the write mode and the field that carries the booking's id."""

    tenant_path = "page__tenant"

    class WriteMode(models.TextChoices):
        UPSERT = CoreWriteMode.UPSERT.value, "Upsert by external ID (recommended)"
        INSERT = CoreWriteMode.INSERT.value, "Create"

    page = models.ForeignKey(BookingPage, on_delete=models.CASCADE, related_name="sync_targets")
    sobject = models.CharField("Salesforce object", max_length=100, default="Lead")
    enabled = models.BooleanField("Post to Salesforce", default=False)
    write_mode = models.CharField(
        max_length=10, choices=WriteMode.choices, default=WriteMode.UPSERT
    )
    key_field = models.CharField(
        "Booking id field",
        max_length=100,
        blank=True,
        help_text=(
            "An external-ID field that receives the booking's id. Upsert uses it as the key, "
            "so a resend updates the record instead of creating a second one; create mode "
            "looks the record up by it before creating again after an unclear failure."
        ),
    )
    problems = models.JSONField(
        default=list, blank=True, editable=False,
        help_text="Mapping problems found at the last schema check (drift), as dicts.",
    )  # fmt: skip
    checked_at = models.DateTimeField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)

    # -- the person (targets on Lead or Contact) ---------------------------------------------
    class PersonMatch(models.TextChoices):
        CONTACT_THEN_LEAD = (
            people.MatchPolicy.CONTACT_THEN_LEAD.value,
            ("By email: an existing Contact first, then a Lead"),
        )
        LEAD_ONLY = people.MatchPolicy.LEAD_ONLY.value, "By email: Leads only"
        ALWAYS_CREATE = people.MatchPolicy.ALWAYS_CREATE.value, "Never: always create a new record"

    class DuplicatePolicy(models.TextChoices):
        LINK = (
            people.DuplicatePolicy.LINK.value,
            ("Use the matching record: update it and attach the meeting to it"),
        )
        ALLOW_SAVE = (
            people.DuplicatePolicy.ALLOW_SAVE.value,
            ("Save anyway (when the duplicate rule allows it)"),
        )
        FAIL = people.DuplicatePolicy.FAIL.value, "Do not save: show it as failed"

    class OwnerPolicy(models.TextChoices):
        ASSIGNMENT_RULES = (
            people.OwnerPolicy.ASSIGNMENT_RULES.value,
            ("Salesforce's assignment rules decide (new records only)"),
        )
        HOST = people.OwnerPolicy.HOST.value, "The booking page's host"
        FIXED = people.OwnerPolicy.FIXED.value, "Always the same user or queue"
        LEAVE = people.OwnerPolicy.LEAVE.value, "Leave it to Salesforce (never change an owner)"

    person_match = models.CharField(
        "find the guest",
        max_length=20,
        choices=PersonMatch.choices,
        default=PersonMatch.CONTACT_THEN_LEAD,
        help_text="How a booking finds the person it belongs to before creating one.",
    )
    account_question = models.CharField(
        max_length=100,
        blank=True,
        help_text="New Contacts only: the question whose answer names their Account. "
        "Empty: the Account whose website has the guest's email domain.",
    )
    duplicate_policy = models.CharField(
        "when Salesforce sees a duplicate",
        max_length=20,
        choices=DuplicatePolicy.choices,
        default=DuplicatePolicy.LINK,
    )
    owner_policy = models.CharField(
        "owner", max_length=20, choices=OwnerPolicy.choices, default=OwnerPolicy.ASSIGNMENT_RULES
    )
    owner_id = models.CharField(
        "fixed owner id", max_length=18, blank=True, help_text="A user or queue of the org."
    )
    owner_name = models.CharField(max_length=255, blank=True, editable=False)
    event_enabled = models.BooleanField(
        "write the meeting as an Event",
        default=True,
        help_text="An Event on the person, owned by the page's host, kept current.",
    )
    event_subject = models.CharField(
        max_length=255,
        default=DEFAULT_EVENT_SUBJECT,
        help_text="{page}, {guest_name} and {guest_email} are filled in.",
    )
    campaign_id = models.CharField("campaign", max_length=18, blank=True)
    campaign_name = models.CharField(max_length=255, blank=True, editable=False)
    campaign_status = models.CharField(
        "campaign member status", max_length=40, blank=True, default="Responded"
    )

    # -- write-back: what changes after booking do to the records the post wrote ----------

    class CancelAction(models.TextChoices):
        MARK = "mark", "Keep the Event, marked cancelled (subject prefix and fields)"
        DELETE = "delete", "Delete the Event"
        LEAVE = "leave", "Leave the Event as it is"

    class RescheduleAction(models.TextChoices):
        MOVE = "move", "Move the Event to the new time"
        LEAVE = "leave", "Leave the Event at the old time"

    # Marking is the default, as Calendly and Chili Piper do: the rep keeps the activity
    # history (who booked, then cancelled) and reports can count cancellations; a deleted
    # Event leaves no trace in Salesforce.
    cancel_action = models.CharField(
        "on cancel", max_length=10, choices=CancelAction.choices, default=CancelAction.MARK
    )
    cancel_subject_prefix = models.CharField(
        "cancelled subject prefix",
        max_length=40,
        blank=True,
        default="Cancelled: ",
        help_text="Put before the Event's subject when it is kept, marked cancelled.",
    )
    cancel_reason_field = models.CharField(
        "cancel reason field",
        max_length=100,
        blank=True,
        help_text="A field of the Lead / Contact that receives the guest's or staff's "
        "reason for cancelling (empty: not written).",
    )
    reschedule_action = models.CharField(
        "on reschedule",
        max_length=10,
        choices=RescheduleAction.choices,
        default=RescheduleAction.MOVE,
    )

    class Meta:
        verbose_name = "Salesforce target"
        constraints = [
            models.UniqueConstraint(fields=["page", "sobject"], name="target_unique_page_object")
        ]

    def __str__(self) -> str:
        return f"{self.page} → {self.sobject}"

    @property
    def core_write_mode(self) -> CoreWriteMode:
        return CoreWriteMode(self.write_mode)

    @property
    def is_person(self) -> bool:
        """Posts a person (Lead or Contact): found first, with a meeting and an owner."""
        return self.sobject in people.PERSON_OBJECTS


class FieldMapping(models.Model):
    """One Salesforce field of a target and where its value comes from."""

    tenant_path = "target__page__tenant"

    class SourceKind(models.TextChoices):
        QUESTION = CoreSourceKind.QUESTION.value, "Question"
        BOOKING = CoreSourceKind.BOOKING.value, "Booking fact"
        URL_PARAM = CoreSourceKind.URL_PARAM.value, "URL parameter"
        CONSTANT = CoreSourceKind.CONSTANT.value, "Constant"

    class AppliesTo(models.TextChoices):
        PERSON = "person", "The record"
        EVENT = "event", "The meeting (Event)"

    class WritePolicy(models.TextChoices):
        ALWAYS = people.WritePolicy.ALWAYS.value, "Always"
        IF_EMPTY = people.WritePolicy.IF_EMPTY.value, "Only when empty in Salesforce"
        ON_CREATE = people.WritePolicy.ON_CREATE.value, "Only on a new record"

    target = models.ForeignKey(SyncTarget, on_delete=models.CASCADE, related_name="mappings")
    applies_to = models.CharField(
        max_length=10, choices=AppliesTo.choices, default=AppliesTo.PERSON
    )
    sf_field = models.CharField("Salesforce field", max_length=100)
    source_kind = models.CharField(max_length=20, choices=SourceKind.choices)
    source_key = models.CharField(
        max_length=100, blank=True, help_text="The question key or booking fact."
    )
    constant_value = models.TextField(blank=True)
    accept_truncation = models.BooleanField(
        default=False, help_text="Cut longer answers to the field's length instead of refusing."
    )
    write_policy = models.CharField(
        "write",
        max_length=10,
        choices=WritePolicy.choices,
        default=WritePolicy.ALWAYS,
        help_text="On a person found in Salesforce: overwrite, fill only when empty, or "
        "leave alone (a booking never wipes what a rep typed).",
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["target", "applies_to", "sf_field"], name="mapping_unique_field"
            )
        ]

    def __str__(self) -> str:
        return f"{self.sf_field} ← {self.get_source_kind_display()} {self.source_key}".strip()

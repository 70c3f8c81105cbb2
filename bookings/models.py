"""Booking-site models. `tenant_path` on a model names the lookup from it to its Tenant;
the admin scoping mixin and the isolation tests rely on it."""

import itertools
import re
import uuid
import zoneinfo

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.urls import reverse
from django.utils.timezone import now as time_now


def validate_timezone(value: str) -> None:
    if value not in zoneinfo.available_timezones():
        raise ValidationError(
            f"Unknown time zone {value!r}; use an IANA name such as Europe/Paris."
        )


def reserved_url_prefixes() -> set[str]:
    """First path segments the site itself uses (admin, accounts, api, ...): a tenant with
    such a slug would have public pages nobody can reach, since those routes match first."""
    from django.urls import get_resolver

    prefixes = {"static", "media"}
    for pattern in get_resolver().url_patterns:
        first = str(pattern.pattern).lstrip("^").split("/", 1)[0]
        if first and "<" not in first:
            prefixes.add(first)
    return prefixes


def validate_tenant_slug(value: str) -> None:
    if value.lower() in reserved_url_prefixes():
        raise ValidationError(f"{value!r} is used by the site's own URLs; choose another slug.")


ORIGIN = re.compile(r"^https?://[A-Za-z0-9.-]+(:[0-9]{1,5})?$")


def validate_origins(value: str) -> None:
    """One origin (scheme://host[:port]) per line: what a browser compares for framing."""
    bad = [
        line.strip()
        for line in value.splitlines()
        if line.strip() and not ORIGIN.match(line.strip().rstrip("/"))
    ]
    if bad:
        raise ValidationError(
            f"Not a site address: {', '.join(bad)}. Write e.g. https://www.example.com (no path)."
        )


class Tenant(models.Model):
    """A customer company. Everything it owns is reachable through `tenant_path`."""

    tenant_path = "pk"

    slug = models.SlugField(
        unique=True,
        validators=[validate_tenant_slug],
        help_text="Used in public URLs: /<slug>/<page>/.",
    )
    name = models.CharField(max_length=200)
    timezone = models.CharField(max_length=64, default="UTC", validators=[validate_timezone])
    embed_origins = models.TextField(
        "Sites that may embed your booking pages",
        blank=True,
        validators=[validate_origins],
        help_text="One site per line, as it appears in the browser's address bar up to the "
        "first slash, e.g. https://www.example.com. Other sites cannot show your pages.",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @property
    def embed_origin_list(self) -> list[str]:
        return [
            line.strip().rstrip("/") for line in self.embed_origins.splitlines() if line.strip()
        ]


class Membership(models.Model):
    """A staff user's access to a tenant. Admins also manage the tenant's staff."""

    tenant_path = "tenant"

    class Role(models.TextChoices):
        ADMIN = "admin", "Admin"
        MEMBER = "member", "Member"

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=10, choices=Role.choices, default=Role.MEMBER)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "tenant"], name="membership_unique_user_tenant")
        ]

    def __str__(self) -> str:
        return f"{self.user} @ {self.tenant} ({self.role})"


class Weekday(models.IntegerChoices):
    MONDAY = 0, "Monday"
    TUESDAY = 1, "Tuesday"
    WEDNESDAY = 2, "Wednesday"
    THURSDAY = 3, "Thursday"
    FRIDAY = 4, "Friday"
    SATURDAY = 5, "Saturday"
    SUNDAY = 6, "Sunday"


def validate_weekdays(value) -> None:
    """Kept for migration 0002, which names it (the field it checked is gone)."""
    if not isinstance(value, list) or not all(v in Weekday.values for v in value):
        raise ValidationError("Weekdays must be a list of day numbers, 0 (Monday) to 6 (Sunday).")


#: The longest reminder lead time a page may set (a week); the reminder sweep looks this
#: far ahead.
REMINDER_MAX_MINUTES = 7 * 24 * 60


def windows_overlap(windows) -> list[str]:
    """Messages for (day label, start, end) windows that overlap another of the same day,
    e.g. Monday 09:00-12:00 and 11:00-13:00. Touching windows (12:00-12:00) are fine."""
    problems = []
    by_day: dict = {}
    for day, start, end in windows:
        by_day.setdefault(day, []).append((start, end))
    for day, spans in by_day.items():
        spans.sort()
        for (s1, e1), (s2, e2) in itertools.pairwise(spans):
            if s2 < e1:
                problems.append(
                    f"{day}: {s1:%H:%M}-{e1:%H:%M} overlaps {s2:%H:%M}-{e2:%H:%M}; "
                    "join them or make them follow each other."
                )
    return problems


class BookingPage(models.Model):
    """A public page where guests book a meeting: /<tenant-slug>/<page-slug>/.

    Availability, in the page's `timezone`: weekly hours (`windows`, several a day),
    replaced on single dates by `overrides` (other hours, or a day off); in each window,
    slots of `duration_minutes` follow each other from its start. A slot is not offered
    within `buffer_before/after_minutes` of another active meeting of the host (of the page,
    without a host), sooner than `min_notice_minutes`, after `horizon_days`, or on a local
    day that already has `daily_cap` bookings of this page. See `bookings.slots`.
    """

    tenant_path = "tenant"

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="booking_pages")
    slug = models.SlugField(help_text="Used in the public URL: /<tenant>/<slug>/.")
    title = models.CharField(max_length=200)
    host = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="hosted_pages",
        help_text="The staff member guests meet: owns the meeting in Salesforce.",
    )
    description = models.TextField(blank=True, help_text="Shown to guests above the form.")
    duration_minutes = models.PositiveSmallIntegerField(
        "duration (minutes)",
        default=30,
        validators=[MinValueValidator(5), MaxValueValidator(8 * 60)],
    )
    timezone = models.CharField(
        max_length=64,
        default="UTC",
        validators=[validate_timezone],
        help_text="The zone the availability hours are in, e.g. Europe/London.",
    )
    horizon_days = models.PositiveSmallIntegerField(
        "bookable days ahead",
        default=14,
        validators=[MinValueValidator(1), MaxValueValidator(365)],
        help_text="How far ahead guests may book.",
    )
    min_notice_minutes = models.PositiveIntegerField(
        "minimum notice (minutes)",
        default=60,
        validators=[MaxValueValidator(30 * 24 * 60)],
        help_text="Slots starting sooner than this are not offered.",
    )
    buffer_before_minutes = models.PositiveSmallIntegerField(
        "buffer before (minutes)",
        default=0,
        validators=[MaxValueValidator(24 * 60)],
        help_text="Free time kept before each meeting: no meeting may end closer to it.",
    )
    buffer_after_minutes = models.PositiveSmallIntegerField(
        "buffer after (minutes)",
        default=0,
        validators=[MaxValueValidator(24 * 60)],
        help_text="Free time kept after each meeting: no meeting may start closer to it.",
    )
    daily_cap = models.PositiveSmallIntegerField(
        "bookings per day at most",
        null=True,
        blank=True,
        validators=[MinValueValidator(1), MaxValueValidator(1000)],
        help_text="Empty: no limit. Counts this page's bookings per day in its time zone.",
    )
    active = models.BooleanField(default=True, help_text="Inactive pages answer 404.")
    language = models.CharField(
        max_length=10,
        choices=settings.LANGUAGES,
        default="en",
        help_text="The language guests meet: the booking page, their emails, their manage page.",
    )
    reminder_enabled = models.BooleanField(
        "send a reminder", default=True, help_text="Email guests a reminder before the meeting."
    )
    reminder_minutes = models.PositiveIntegerField(
        "reminder (minutes before)",
        default=24 * 60,
        validators=[MinValueValidator(5), MaxValueValidator(REMINDER_MAX_MINUTES)],
        help_text="How long before the meeting the reminder goes out (1440 = one day).",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["tenant", "title"]
        constraints = [
            models.UniqueConstraint(fields=["tenant", "slug"], name="bookingpage_unique_slug"),
        ]

    def __str__(self) -> str:
        return self.title

    def get_absolute_url(self) -> str:
        return reverse("bookings:page", args=[self.tenant.slug, self.slug])


class AvailabilityWindow(models.Model):
    """Weekly hours: on `weekday`, guests may book from `start` to `end` (page's zone).
    A day may have several windows (Monday 09:00-12:00 and 13:00-17:00); they may not
    overlap (checked by the admin's formset with `windows_overlap`)."""

    tenant_path = "page__tenant"

    page = models.ForeignKey(BookingPage, on_delete=models.CASCADE, related_name="windows")
    weekday = models.PositiveSmallIntegerField(choices=Weekday.choices)
    start = models.TimeField()
    end = models.TimeField()

    class Meta:
        ordering = ["page", "weekday", "start"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(start__lt=models.F("end")),
                name="availabilitywindow_start_before_end",
                violation_error_message="A window must start before it ends.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_weekday_display()} {self.start:%H:%M}-{self.end:%H:%M}"


class DateOverride(models.Model):
    """Other hours on one date of the page's zone. The rows of a date replace that date's
    weekly hours: each row with times is a window; a row without times makes it a day off."""

    tenant_path = "page__tenant"

    page = models.ForeignKey(BookingPage, on_delete=models.CASCADE, related_name="overrides")
    date = models.DateField()
    start = models.TimeField(null=True, blank=True, help_text="Empty (with end): a day off.")
    end = models.TimeField(null=True, blank=True)

    class Meta:
        ordering = ["page", "date", "start"]
        indexes = [models.Index(fields=["page", "date"], name="dateoverride_page_date")]
        constraints = [
            models.CheckConstraint(
                # Both halves say "not null" outright: a CHECK that is NULL passes.
                condition=models.Q(start__isnull=True, end__isnull=True)
                | models.Q(start__isnull=False, end__isnull=False, start__lt=models.F("end")),
                name="dateoverride_day_off_or_start_before_end",
                violation_error_message="Give a start before the end, or neither for a day off.",
            ),
        ]

    def __str__(self) -> str:
        if self.is_day_off:
            return f"{self.date:%Y-%m-%d} day off"
        end = f"{self.end:%H:%M}" if self.end else "?"
        return f"{self.date:%Y-%m-%d} {self.start:%H:%M}-{end}"

    @property
    def is_day_off(self) -> bool:
        return self.start is None


class Question(models.Model):
    """A question on a booking page. Answers are validated and typed by `bookings.answers`."""

    tenant_path = "page__tenant"

    class Kind(models.TextChoices):
        TEXT = "text", "Text"
        TEXTAREA = "textarea", "Long text"
        EMAIL = "email", "Email"
        PHONE = "phone", "Phone"
        NUMBER = "number", "Number"
        DATE = "date", "Date"
        CHOICE = "choice", "Single choice"
        MULTICHOICE = "multichoice", "Multiple choice"
        CHECKBOX = "checkbox", "Checkbox"

    CHOICE_KINDS = frozenset({Kind.CHOICE, Kind.MULTICHOICE})
    #: kinds that take max_length, and the largest max_length each allows
    LENGTH_LIMITS = {Kind.TEXT: 1000, Kind.TEXTAREA: 10000}
    MAX_CHOICES = 100
    MAX_CHOICE_LENGTH = 200

    page = models.ForeignKey(BookingPage, on_delete=models.CASCADE, related_name="questions")
    key = models.CharField(
        max_length=64,
        validators=[
            RegexValidator(
                r"^[A-Za-z][A-Za-z0-9_]*\Z",
                "Start with a letter; use only letters, digits and underscores.",
            )
        ],
        help_text="Stable identifier of the answer, used in mappings, e.g. company.",
    )
    label = models.CharField(max_length=200)
    help_text = models.CharField(max_length=500, blank=True)
    kind = models.CharField(max_length=20, choices=Kind.choices, default=Kind.TEXT)
    required = models.BooleanField(default=False)
    max_length = models.PositiveIntegerField(
        null=True, blank=True, help_text="Text and long text only; empty means 255 / 5000."
    )
    choices = models.JSONField(default=list, blank=True, help_text="One choice per line.")
    order = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["page", "order", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["page", "key"], name="question_unique_key_per_page")
        ]

    def __str__(self) -> str:
        return self.label

    def clean(self) -> None:
        errors = {}
        limit = self.LENGTH_LIMITS.get(self.kind)
        if self.max_length is not None:
            if limit is None:
                errors["max_length"] = "Only text and long text questions take a maximum length."
            elif not 1 <= self.max_length <= limit:
                errors["max_length"] = f"Use a maximum length between 1 and {limit}."
        if self.kind in self.CHOICE_KINDS:
            errors.update(self._choice_errors())
        elif self.choices:
            errors["choices"] = "Only single and multiple choice questions take choices."
        if errors:
            raise ValidationError(errors)

    def _choice_errors(self) -> dict[str, str]:
        choices = self.choices
        if not isinstance(choices, list) or not all(isinstance(c, str) for c in choices):
            return {"choices": "Choices must be a list of texts."}
        if not choices:
            return {"choices": "A choice question needs at least one choice."}
        if len(choices) > self.MAX_CHOICES:
            return {"choices": f"Use at most {self.MAX_CHOICES} choices."}
        if any(not c.strip() or len(c) > self.MAX_CHOICE_LENGTH for c in choices):
            return {"choices": f"Each choice needs 1 to {self.MAX_CHOICE_LENGTH} characters."}
        if len(set(choices)) != len(choices):
            return {"choices": "Choices must be unique."}
        return {}


class Booking(models.Model):
    """A guest's booking of one slot. At most one active (not cancelled) booking per slot."""

    tenant_path = "page__tenant"

    page = models.ForeignKey(BookingPage, on_delete=models.PROTECT, related_name="bookings")
    uid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    guest_name = models.CharField(max_length=200)
    guest_email = models.EmailField()
    guest_timezone = models.CharField(max_length=64, blank=True)
    answers = models.JSONField(default=dict, blank=True)
    url_params = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    outcome = models.CharField(
        max_length=10,
        choices=[("", "—"), ("completed", "Completed"), ("no_show", "No-show")],
        blank=True,
        help_text="What happened at the meeting, as marked by staff.",
    )
    sequence = models.PositiveIntegerField(
        default=0,
        editable=False,
        help_text="The calendar invitation's SEQUENCE: bumped on every change the guest sees.",
    )

    class Meta:
        ordering = ["-starts_at"]
        constraints = [
            # A partial unique index: PostgreSQL and SQLite both enforce it.
            models.UniqueConstraint(
                fields=["page", "starts_at"],
                condition=models.Q(cancelled_at__isnull=True),
                name="booking_unique_active_slot",
            ),
            models.CheckConstraint(
                condition=models.Q(starts_at__lt=models.F("ends_at")),
                name="booking_starts_before_end",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.guest_name} — {self.page} at {self.starts_at:%Y-%m-%d %H:%M} UTC"

    @property
    def is_cancelled(self) -> bool:
        return self.cancelled_at is not None


class BookingChange(models.Model):
    """One thing that happened to a booking, in order: its history, and what other apps
    (the Salesforce write-back, guest emails) act on. Rows are only ever added."""

    tenant_path = "booking__page__tenant"

    class Kind(models.TextChoices):
        BOOKED = "booked", "Booked"
        RESCHEDULED = "rescheduled", "Rescheduled"
        CANCELLED = "cancelled", "Cancelled"
        NO_SHOW = "no_show", "Marked no-show"
        COMPLETED = "completed", "Marked completed"

    class Actor(models.TextChoices):
        GUEST = "guest", "Guest"
        STAFF = "staff", "Staff"
        API = "api", "API"

    # Found through bookingchange_booking (booking first).
    booking = models.ForeignKey(
        Booking, on_delete=models.CASCADE, related_name="changes", db_index=False
    )
    kind = models.CharField(max_length=12, choices=Kind.choices)
    actor = models.CharField(max_length=8, choices=Actor.choices)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        help_text="The staff member who made the change.",
    )
    reason = models.TextField(blank=True)
    previous_starts_at = models.DateTimeField(null=True, blank=True)
    starts_at = models.DateTimeField(help_text="The booking's start after the change.")
    ends_at = models.DateTimeField()
    sequence = models.PositiveIntegerField(help_text="The booking's SEQUENCE after the change.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["booking", "pk"]
        indexes = [models.Index(fields=["booking", "created_at"], name="bookingchange_booking")]

    def __str__(self) -> str:
        when = f"{self.created_at:%Y-%m-%d %H:%M}" if self.created_at else "unsaved"
        return f"{self.get_kind_display()} by {self.get_actor_display()} ({when})"


class GuestEmail(models.Model):
    """One email to a guest: written in the transaction of the change it announces (or by
    the reminder sweep), sent by a task that claims it first, so it goes out at most once."""

    tenant_path = "booking__page__tenant"

    class Kind(models.TextChoices):
        CONFIRMATION = "confirmation", "Confirmation"
        RESCHEDULED = "rescheduled", "Rescheduled"
        CANCELLED = "cancelled", "Cancelled"
        REMINDER = "reminder", "Reminder"

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        SENDING = "sending", "Sending"
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed"
        SKIPPED = "skipped", "Skipped"

    booking = models.ForeignKey(Booking, on_delete=models.CASCADE, related_name="guest_emails")
    change = models.ForeignKey(
        BookingChange,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="guest_emails",
        db_index=False,
        help_text="The change the email announces; empty for reminders.",
    )
    kind = models.CharField(max_length=12, choices=Kind.choices)
    recipient = models.EmailField()
    starts_at = models.DateTimeField(help_text="The meeting's start the email speaks of.")
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.TextField(blank=True)
    next_attempt_at = models.DateTimeField(default=time_now)
    claimed_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [
            # One reminder per meeting time, however many beats run the sweep.
            models.UniqueConstraint(
                fields=["booking", "starts_at"],
                condition=models.Q(kind="reminder"),
                name="guestemail_one_reminder_per_start",
            ),
            models.UniqueConstraint(
                fields=["change", "kind"],
                condition=models.Q(change__isnull=False),
                name="guestemail_one_per_change",
            ),
        ]
        # status: guestemail_due leads with it; change: guestemail_one_per_change finds
        # every email that has one (an index per column would cost every insert twice).
        indexes = [
            models.Index(fields=["status", "next_attempt_at"], name="guestemail_due"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} to {self.recipient} ({self.get_status_display()})"


class ApiKey(models.Model):
    """A tenant's key for the booking API. Only its sha256 is stored; `prefix` names it."""

    tenant_path = "tenant"

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="api_keys")
    name = models.CharField(max_length=100, help_text="Where the key is used, e.g. 'website'.")
    prefix = models.CharField(max_length=16, unique=True, editable=False)
    key_hash = models.CharField(max_length=64, unique=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)
    revoked_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        verbose_name = "API key"
        ordering = ["tenant", "-created_at"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None

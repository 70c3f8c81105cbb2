"""Guest emails: recorded with the change they announce, sent at most once.

- `guest_email_record` writes the row in the change's transaction and asks for a drain on
  commit: one `guest_emails_drain` task is queued unless one is queued or running (a
  marker in the coordination cache), so a burst of bookings costs one task, not one
  each, and a steady stream keeps one worker process sending instead of every one
  (leadsync.enqueue: a broker outage never fails the booking). The drain sends every due
  row, oldest first, for at most DRAIN_SECONDS; then it clears the marker and, if rows
  are due (they came meanwhile), asks for another.
- `guest_email_send` claims the row with one conditional UPDATE (pending -> sending), so
  two workers, a retried task or two sweeps never send it twice; it then sends through
  Django's email backend and records the outcome. A transient failure (connection, SMTP
  4xx) goes back to pending with `next_attempt_at` pushed back by
  GUEST_EMAIL_RETRY_DELAYS; a permanent one, or the last retry, is `failed`, shown to staff
  who may resend it.
- A worker that dies mid-send leaves the row `sending`: whether the message went out is
  unknown, so the sweep marks it failed for staff to look at instead of sending it again.
- Emails of one booking go out in order: a row is not claimed while an older one of the
  same booking is unsent; sending a row enqueues the next.
- `guest_emails_sweep` (beat, every minute) creates due reminders and asks for a drain
  when rows are due (an enqueue was lost, a retry is due).
"""

from __future__ import annotations

import datetime
import logging
import smtplib
import time
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, F, OuterRef, Subquery
from django.db.models.functions import Coalesce
from django.utils import timezone

from bookings.guest_email_render import guest_email_message
from bookings.models import REMINDER_MAX_MINUTES, Booking, BookingChange, GuestEmail
from leadsync import enqueue
from leadsync.inserts import insert

logger = logging.getLogger(__name__)

DRAIN_TASK = "bookings.guest_emails_drain"
#: How long "a drain is queued" holds without the drain starting (a lost message): then the
#: next email enqueues another. The sweep asks for one every minute regardless.
DRAIN_QUEUED_SECONDS = 60
DRAIN_BATCH = 100
#: One drain task's share of sending (well inside the task's 150 s hard limit even with a
#: slow mail server); then it asks for the next drain and ends.
DRAIN_SECONDS = 30.0
#: Longer than any send may take (the task's hard time limit is 150 s): a row still
#: `sending` after this lost its worker.
SENDING_STALE_AFTER = datetime.timedelta(minutes=10)

CHANGE_EMAIL_KINDS = {
    BookingChange.Kind.BOOKED: GuestEmail.Kind.CONFIRMATION,
    BookingChange.Kind.RESCHEDULED: GuestEmail.Kind.RESCHEDULED,
    BookingChange.Kind.CANCELLED: GuestEmail.Kind.CANCELLED,
}  # no-show and completed: nothing for the guest to act on
UNSENT = [GuestEmail.Status.PENDING, GuestEmail.Status.SENDING]


class SendError(Exception):
    """A failed send; `transient` says whether trying again later may succeed."""

    def __init__(self, message: str, *, transient: bool):
        super().__init__(message)
        self.transient = transient


def guest_email_record(*, change: BookingChange) -> GuestEmail | None:
    """Record the email that announces `change` to the guest (call inside the change's
    transaction) and ask for a drain on commit. None for changes guests are not told
    about (no-show, completed)."""
    kind = CHANGE_EMAIL_KINDS.get(change.kind)
    if kind is None:
        return None
    email = insert(
        GuestEmail(
            booking=change.booking,
            change=change,
            kind=kind,
            recipient=change.booking.guest_email,
            starts_at=change.starts_at,
        )
    )
    transaction.on_commit(guest_emails_drain_request)
    return email


def guest_emails_drain_request() -> bool:
    """Enqueue a drain unless one is queued or running (it will see this email too). An
    unreachable cache only means a drain more. Returns whether one is queued."""
    return enqueue.send_unless_queued(
        _DRAIN_KEY, timeout=DRAIN_QUEUED_SECONDS, send=lambda: enqueue.task_send(DRAIN_TASK)
    )


def _drain_ended() -> None:
    enqueue.marker_clear(_DRAIN_KEY)


_DRAIN_KEY = "guest-emails:drain-queued"


def guest_emails_drain(*, seconds: float = DRAIN_SECONDS) -> int:
    """Send every due email, oldest first, DRAIN_BATCH rows a query, for at most `seconds`.
    Each row is claimed as by `guest_email_send`, so drains running at once, the sweep and
    old per-email tasks never send one twice. Emails recorded meanwhile find the marker
    set and leave themselves to this drain; so at the end it clears the marker and asks
    for another drain if any row is due (one committed after its last look). Returns how
    many rows it took (sent, failed, retried later or skipped)."""
    deadline = time.monotonic() + seconds
    taken = 0
    while True:
        due = list(_due(timezone.now()).order_by("pk").values_list("pk", flat=True)[:DRAIN_BATCH])
        claimed = 0
        for pk in due:
            # The booking's next email is in this batch or the next: no hand-on needed.
            if guest_email_send(email_id=pk, hand_on=False).status != "not_claimed":
                claimed += 1
            if time.monotonic() > deadline:
                break
        taken += claimed
        # After a batch, its bookings' next emails may be due: look again, in time.
        if not claimed or time.monotonic() > deadline:
            break
    _drain_ended()
    if _due(timezone.now()).exists():
        guest_emails_drain_request()
    return taken


def _due(now: datetime.datetime):
    """Pending rows due at `now` whose booking has no older email unsent."""
    return GuestEmail.objects.filter(
        status=GuestEmail.Status.PENDING, next_attempt_at__lte=now
    ).exclude(_older_unsent())


def _older_unsent() -> Exists:
    """Whether an older email of the row's booking is still unsent (it goes first)."""
    return Exists(
        GuestEmail.objects.filter(
            booking=OuterRef("booking"), pk__lt=OuterRef("pk"), status__in=UNSENT
        )
    )


def guest_email_claim(*, email_id: int, now: datetime.datetime | None = None) -> GuestEmail | None:
    """Take `email_id` for sending: pending -> sending in one conditional UPDATE. Returns
    the row, or None when it is not due, someone else has it, it is done, or an older
    email of the same booking is still unsent."""
    now = now or timezone.now()
    taken = (
        GuestEmail.objects.filter(
            pk=email_id, status=GuestEmail.Status.PENDING, next_attempt_at__lte=now
        )
        .exclude(_older_unsent())
        .update(status=GuestEmail.Status.SENDING, claimed_at=now, attempts=F("attempts") + 1)
    )
    if not taken:
        return None
    return GuestEmail.objects.select_related(
        "booking__page__tenant", "booking__page__host", "change"
    ).get(pk=email_id)


@dataclass(frozen=True)
class SendOutcome:
    status: str  # the row's status afterwards, or "not_claimed"
    error: str = ""


def guest_email_send(*, email_id: int, hand_on: bool = True) -> SendOutcome:
    """Claim and send one email, recording what happened. Safe to call twice: the second
    call finds nothing to claim. `hand_on`: enqueue the booking's next email, which
    waited for this one (a drain sends it itself)."""
    email = guest_email_claim(email_id=email_id)
    if email is None:
        return SendOutcome("not_claimed")
    skip = _reminder_obsolete(email)
    if skip:
        outcome = _finish(email, status=GuestEmail.Status.SKIPPED, error=skip)
    else:
        try:
            _deliver(email)
        except SendError as exc:
            outcome = _failed(email, exc)
        else:
            outcome = _finish(email, status=GuestEmail.Status.SENT)
    if hand_on:
        _next_of_booking_enqueue(email)
    return outcome


def _reminder_obsolete(email: GuestEmail) -> str:
    """Why a reminder must not go out any more ("" when it still should)."""
    if email.kind != GuestEmail.Kind.REMINDER:
        return ""
    booking = email.booking
    if booking.is_cancelled:
        return "The meeting was cancelled before the reminder was due."
    if booking.outcome:
        return "The meeting was already marked."
    if booking.starts_at != email.starts_at:
        return "The meeting was moved; the new time gets its own reminder."
    if booking.starts_at <= timezone.now():
        return "The meeting had started before the reminder could be sent."
    return ""


def _deliver(email: GuestEmail) -> None:
    """Build and send the message. Raises SendError, classified."""
    try:
        message = guest_email_message(email)
    except Exception as exc:  # a bug or bad data: trying again gives the same
        logger.exception("Guest email %s could not be built", email.pk)
        raise SendError(
            f"Could not build the email: {type(exc).__name__}: {exc}", transient=False
        ) from exc
    try:
        message.send(fail_silently=False)
    except smtplib.SMTPRecipientsRefused as exc:
        codes = [code for code, _ in exc.recipients.values()]
        transient = all(400 <= code < 500 for code in codes)
        raise SendError(
            f"The mail server refused the address: {exc.recipients}", transient=transient
        ) from exc
    except smtplib.SMTPResponseException as exc:  # sender refused, data refused, auth...
        # RFC 5321 4.2.1: 4yz is a transient negative reply, 5yz a permanent one.
        transient = 400 <= exc.smtp_code < 500
        raise SendError(
            f"The mail server answered {exc.smtp_code}: {exc.smtp_error!r}", transient=transient
        ) from exc
    except (smtplib.SMTPException, OSError) as exc:  # connection refused, timeout, dropped
        raise SendError(
            f"Could not reach the mail server: {type(exc).__name__}: {exc}", transient=True
        ) from exc


def _finish(email: GuestEmail, *, status: str, error: str = "") -> SendOutcome:
    now = timezone.now()
    fields = {"status": status, "last_error": error, "claimed_at": None}
    if status == GuestEmail.Status.SENT:
        fields["sent_at"] = now
    GuestEmail.objects.filter(pk=email.pk, status=GuestEmail.Status.SENDING).update(**fields)
    return SendOutcome(status, error)


def _failed(email: GuestEmail, exc: SendError) -> SendOutcome:
    delays = settings.GUEST_EMAIL_RETRY_DELAYS
    if exc.transient and email.attempts <= len(delays):
        wait = datetime.timedelta(seconds=delays[email.attempts - 1])
        GuestEmail.objects.filter(pk=email.pk, status=GuestEmail.Status.SENDING).update(
            status=GuestEmail.Status.PENDING,
            last_error=str(exc),
            claimed_at=None,
            next_attempt_at=timezone.now() + wait,
        )
        logger.warning("Guest email %s: %s; retrying in %s", email.pk, exc, wait)
        return SendOutcome(GuestEmail.Status.PENDING, str(exc))
    logger.warning("Guest email %s failed: %s", email.pk, exc)
    return _finish(email, status=GuestEmail.Status.FAILED, error=str(exc))


def _next_of_booking_enqueue(email: GuestEmail) -> None:
    """The booking's next unsent email waited for this one: send it now."""
    following = (
        GuestEmail.objects.filter(
            booking_id=email.booking_id,
            pk__gt=email.pk,
            status=GuestEmail.Status.PENDING,
            next_attempt_at__lte=timezone.now(),
        )
        .order_by("pk")
        .values_list("pk", flat=True)
        .first()
    )
    if following is not None:
        guest_emails_drain_request()


@transaction.atomic
def guest_email_resend(*, emails) -> int:
    """Queue failed `emails` (a queryset, already scoped to the caller's tenants) to be
    sent again, each once more with a fresh retry budget. Returns how many."""
    ids = list(
        emails.select_for_update()
        .filter(status=GuestEmail.Status.FAILED)
        .values_list("pk", flat=True)
    )
    GuestEmail.objects.filter(pk__in=ids).update(
        status=GuestEmail.Status.PENDING, attempts=0, next_attempt_at=timezone.now()
    )
    if ids:
        transaction.on_commit(guest_emails_drain_request)
    return len(ids)


def guest_email_reminders_create(*, now: datetime.datetime | None = None) -> int:
    """Record the reminders now due: active, unmarked meetings of pages with reminders on,
    whose reminder time has come and had not yet passed when the meeting was booked or
    last moved there. The unique constraint on (booking, starts_at) keeps it to one per
    meeting time, however many sweeps run at once. Returns how many rows were added."""
    now = now or timezone.now()
    scheduled_at = (
        BookingChange.objects.filter(
            booking=OuterRef("pk"),
            kind__in=[BookingChange.Kind.BOOKED, BookingChange.Kind.RESCHEDULED],
        )
        .order_by("-pk")
        .values("created_at")[:1]
    )
    has_reminder = GuestEmail.objects.filter(
        booking=OuterRef("pk"), kind=GuestEmail.Kind.REMINDER, starts_at=OuterRef("starts_at")
    )
    candidates = (
        Booking.objects.filter(
            cancelled_at__isnull=True,
            outcome="",
            page__reminder_enabled=True,
            starts_at__gt=now,
            starts_at__lte=now + datetime.timedelta(minutes=REMINDER_MAX_MINUTES),
        )
        .exclude(Exists(has_reminder))
        .annotate(scheduled_at=Coalesce(Subquery(scheduled_at), F("created_at")))
        .select_related("page")
        .only("pk", "starts_at", "guest_email", "created_at", "page__reminder_minutes")
    )
    rows = []
    for booking in candidates.iterator():
        remind_at = booking.starts_at - datetime.timedelta(minutes=booking.page.reminder_minutes)
        if remind_at <= now and booking.scheduled_at <= remind_at:
            rows.append(
                GuestEmail(
                    booking=booking,
                    kind=GuestEmail.Kind.REMINDER,
                    recipient=booking.guest_email,
                    starts_at=booking.starts_at,
                    next_attempt_at=now,  # due at once: this sweep enqueues it
                )
            )
    before = GuestEmail.objects.filter(kind=GuestEmail.Kind.REMINDER).count()
    GuestEmail.objects.bulk_create(rows, ignore_conflicts=True)
    return GuestEmail.objects.filter(kind=GuestEmail.Kind.REMINDER).count() - before


def guest_emails_sweep(*, now: datetime.datetime | None = None) -> dict[str, int]:
    """Beat's minute job: add due reminders, fail rows whose worker died mid-send, and ask
    for a drain when pending rows are due (one whose enqueue was lost, or whose retry is
    due; the claim makes a duplicate drain harmless). Returns counts ("due": rows waiting
    for the drain)."""
    now = now or timezone.now()
    reminders = guest_email_reminders_create(now=now)
    lost = GuestEmail.objects.filter(
        status=GuestEmail.Status.SENDING, claimed_at__lt=now - SENDING_STALE_AFTER
    ).update(
        status=GuestEmail.Status.FAILED,
        claimed_at=None,
        last_error="The worker stopped while sending: the guest may or may not have "
        "received this email. Resend it if they did not.",
    )
    due = _due(now).count()
    if due:
        guest_emails_drain_request()
    return {"reminders": reminders, "lost": lost, "due": due}

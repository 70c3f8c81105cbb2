"""Write services of the booking site. Keyword-only, one transaction each."""

import datetime
import secrets
from dataclasses import dataclass
from typing import Any

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from django.utils.translation import gettext, gettext_noop

from bookings.answers import answers_clean, guest_clean
from bookings.models import (
    ApiKey,
    Booking,
    BookingChange,
    BookingPage,
    Membership,
    Question,
    Tenant,
)
from bookings.selectors import (
    api_key_hash,
    page_availability,
    page_questions,
    page_slot_offered,
    page_slot_status,
)
from bookings.signals import booking_changed, booking_submitted
from bookings.slots import Availability
from bookings.url_params import url_params_limit
from leadsync.cache import writes_batched
from leadsync.inserts import insert

User = get_user_model()

API_KEY_PREFIX = "lsk_"


# In English here (the API's language); the booking page shows them translated.
SLOT_UNAVAILABLE = gettext_noop("This time is not available. Please pick one of the offered times.")
SLOT_TAKEN = gettext_noop(
    "Sorry, this time was just booked by someone else. Please pick another time."
)

# pg_advisory_xact_lock(namespace, id) keys: one lock per host, one per page without a host.
LOCK_HOST, LOCK_PAGE = 0x4C530001, 0x4C530002


class SlotTaken(Exception):
    """The slot was booked by someone else (possibly a moment ago)."""


def _availability_lock(page: BookingPage) -> tuple[int | None, bool] | None:
    """Serialize, until the transaction ends, every booking write that could take the time
    of `page`'s host (of the page, without a host): the availability checks and the
    commits of the writes then happen one writer at a time, also across the host's pages,
    which the partial unique index (one page's slot) cannot see.

    The lock is that of the host as stored now (`page` may have been read earlier, or
    from a process's memory), and the same statement returns the page's stored
    (host_id, active): None when the page is gone. PostgreSQL only; SQLite (the first-run
    default) runs one write transaction at a time anyway, and only reads the page."""
    if connection.vendor != "postgresql":
        pages = BookingPage.objects.filter(pk=page.pk).order_by()
        return next(iter(pages.values_list("host_id", "active")), None)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT host_id, active, pg_advisory_xact_lock("
            " CASE WHEN host_id IS NULL THEN %s ELSE %s END, COALESCE(host_id, id)::integer)"
            " FROM bookings_bookingpage WHERE id = %s",
            [LOCK_PAGE, LOCK_HOST, page.pk],
        )
        row = cursor.fetchone()
    return None if row is None else (row[0], row[1])


class BookingClosed(Exception):
    """The booking can no longer be changed this way; str() says why, for the person."""


@dataclass(frozen=True)
class Guest:
    name: str
    email: str
    timezone: str = ""  # IANA zone the guest saw the times in; blank: the page's zone


@transaction.atomic
def staff_user_create(*, user: "User", tenant: Tenant, role: str) -> Membership:
    """Save `user` (password already set) as an active staff user of `tenant` with `role`.

    Returns the new Membership. Staff users reach the admin but see only their tenants.
    """
    user.is_staff = True
    user.is_active = True
    user.save()
    return Membership.objects.create(user=user, tenant=tenant, role=role)


def booking_submit(
    *,
    page: BookingPage,
    slot: datetime.datetime,
    guest: Guest,
    answers: dict[str, Any],
    url_params: dict[str, Any],
    actor: str = BookingChange.Actor.GUEST,
    questions: list[Question] | None = None,
    availability: Availability | None = None,
) -> Booking:
    """Book `slot` (an aware start time) on `page` for `guest`.

    Validates the guest and `answers` against the page's questions, stores the answers
    typed and `url_params` within the limits of `bookings.url_params`, and saves the
    Booking in one transaction, sending `booking_submitted` inside it.

    The slot must pass every availability rule (`bookings.selectors.page_slot_status`),
    checked under a per-host lock so that two guests never get overlapping times. The
    rows are written first and the lock taken last, so that concurrent bookings of one
    host wait on each other only for the check and the commit.

    `questions`, `availability`: the page's questions and `page_availability`, when the
    caller has them already (else read here).

    Returns the new Booking. Raises ValidationError (a dict keyed "slot", "name",
    "email", "timezone", "answers.<key>") for invalid input, SlotTaken when other
    bookings block the slot (overlap, buffers, the host's other meetings, daily cap).
    """
    errors: dict[str, list[str]] = {}
    cleaned_guest, cleaned_answers = {}, {}
    try:
        cleaned_guest = guest_clean(name=guest.name, email=guest.email, timezone=guest.timezone)
    except ValidationError as e:
        errors.update(e.message_dict)
    try:
        if questions is None:
            questions = page_questions(page)
        cleaned_answers = answers_clean(questions, answers)
    except ValidationError as e:
        errors.update(e.message_dict)
    ends_at = slot + datetime.timedelta(minutes=page.duration_minutes)
    now = timezone.now()
    avail = availability or page_availability(page, now=now)  # the rules, outside the lock
    if not page_slot_offered(page, slot, now=now, avail=avail):
        errors["slot"] = [SLOT_UNAVAILABLE]
    elif errors and page_slot_status(page, slot, now=now, avail=avail) == "taken":
        errors["slot"] = [SLOT_TAKEN]  # say everything that is wrong at once
    if errors:
        raise ValidationError(errors)
    try:
        # The on-commit hooks' cache writes (the page's new version, the push and mail
        # markers) go to Redis in one round trip, after the commit.
        with writes_batched(), transaction.atomic():
            booking = insert(
                Booking(
                    page=page,
                    starts_at=slot,
                    ends_at=ends_at,
                    guest_name=cleaned_guest["name"],
                    guest_email=cleaned_guest["email"],
                    guest_timezone=cleaned_guest["timezone"] or page.timezone,
                    answers=cleaned_answers,
                    url_params=url_params_limit(url_params),
                )
            )
            change = _change_record(booking, kind=BookingChange.Kind.BOOKED, actor=actor)
            booking_submitted.send(sender=Booking, booking=booking, change=change)
            # The lock last: it is held only for the check and the commit, while the rows
            # above (and the outbox's) stay this transaction's own until then. After the
            # lock, every booking its earlier holders committed is visible (read
            # committed); a taken slot rolls all of this back. Every writer takes the lock
            # after its rows, so none waits for a row while holding it (no deadlock).
            # It is the current host's, and comes with the page's host and state as stored
            # now (the rules may come from a process's memory).
            stored = _availability_lock(page)
            page, avail = _page_current(page, avail, stored, now=now)
            status = page_slot_status(page, slot, now=now, exclude=booking, avail=avail)
            if status == "unavailable":
                raise ValidationError({"slot": [SLOT_UNAVAILABLE]})
            if status == "taken":
                raise SlotTaken
    except IntegrityError:
        # A write that did not take the lock (or a database without it) won the race;
        # the partial unique index refused this one.
        if page_slot_status(page, slot) == "taken":
            raise SlotTaken from None
        raise
    return booking


def _page_current(
    page: BookingPage,
    avail: Availability,
    stored: tuple[int | None, bool] | None,
    *,
    now: datetime.datetime,
) -> tuple[BookingPage, Availability]:
    """`page` and its rules, read again when its `stored` (host_id, active) differ from
    those they were read with (no query when they do not)."""
    if stored == (page.host_id, page.active):
        return page, avail
    if stored is None:  # deleted meanwhile
        raise ValidationError({"slot": [SLOT_UNAVAILABLE]})
    page = BookingPage.objects.select_related("tenant").get(pk=page.pk)
    return page, page_availability(page, now=now)


def _change_record(
    booking: Booking,
    *,
    kind: str,
    actor: str,
    user=None,
    reason: str = "",
    previous_starts_at: datetime.datetime | None = None,
) -> BookingChange:
    return insert(
        BookingChange(
            booking=booking,
            kind=kind,
            actor=actor,
            user=user,
            reason=reason,
            previous_starts_at=previous_starts_at,
            starts_at=booking.starts_at,
            ends_at=booking.ends_at,
            sequence=booking.sequence,
        )
    )


def _locked(booking: Booking) -> Booking:
    """The booking re-read under a row lock, so concurrent changes apply one after another."""
    # Only the booking's row, and not its key (FOR NO KEY UPDATE): a page or tenant row
    # locked here would block every other booking's commit on that page (its deferred
    # foreign-key check takes FOR KEY SHARE on them), while this one waits for the host's
    # lock or for the slot another booking holds: a deadlock.
    return (
        Booking.objects.select_for_update(of=("self",), no_key=True)
        .select_related("page__tenant")
        .get(pk=booking.pk)
    )


#: Why a booking can no longer be cancelled or moved, per (state, action): whole sentences,
#: so each translates as one (raised in the active language: the page's for guests).
CLOSED = {
    ("cancelled", "cancelled"): gettext_noop("This meeting was cancelled already."),
    ("cancelled", "moved"): gettext_noop("This meeting was cancelled; it cannot be moved."),
    ("completed", "cancelled"): gettext_noop(
        "This meeting was marked completed; it cannot be cancelled."
    ),
    ("completed", "moved"): gettext_noop("This meeting was marked completed; it cannot be moved."),
    ("no_show", "cancelled"): gettext_noop(
        "This meeting was marked no-show; it cannot be cancelled."
    ),
    ("no_show", "moved"): gettext_noop("This meeting was marked no-show; it cannot be moved."),
    ("started", "cancelled"): gettext_noop(
        "This meeting has already started; it cannot be cancelled."
    ),
    ("started", "moved"): gettext_noop("This meeting has already started; it cannot be moved."),
}


def _changeable(booking: Booking, *, now: datetime.datetime, action: str) -> None:
    state = (
        "cancelled"
        if booking.is_cancelled
        else booking.outcome or ("started" if booking.starts_at <= now else "")
    )
    if state:
        raise BookingClosed(gettext(CLOSED[state, action]))


@transaction.atomic
def booking_cancel(
    *, booking: Booking, actor: str = BookingChange.Actor.STAFF, user=None, reason: str = ""
) -> Booking:
    """Cancel `booking`, freeing its slot at once, and record who did it and why.

    Cancelling a cancelled booking changes nothing (the first cancellation stands).
    Raises BookingClosed for a meeting that has started or has an outcome. Sends
    `booking_changed` inside the transaction. Returns the booking as stored.
    """
    locked = _locked(booking)
    if locked.is_cancelled:
        return locked
    _changeable(locked, now=timezone.now(), action="cancelled")
    locked.cancelled_at = timezone.now()
    locked.sequence += 1
    locked.save(update_fields=["cancelled_at", "sequence"])
    change = _change_record(
        locked, kind=BookingChange.Kind.CANCELLED, actor=actor, user=user, reason=reason.strip()
    )
    booking_changed.send(sender=Booking, change=change)
    return locked


def booking_reschedule(
    *,
    booking: Booking,
    slot: datetime.datetime,
    actor: str = BookingChange.Actor.STAFF,
    user=None,
    reason: str = "",
) -> Booking:
    """Move `booking` to `slot`, another offered start of the same page; the old time is
    free as soon as this commits. Sends `booking_changed` inside the transaction.

    The slot must pass every availability rule, the booking itself aside (it neither
    overlaps nor counts towards the daily cap against itself).

    Raises ValidationError {"slot": ...} for a time the page does not offer, SlotTaken
    when other bookings block it, BookingClosed for a cancelled, past or marked meeting.
    Returns the booking as stored.
    """
    try:
        with transaction.atomic():
            locked = _locked(booking)
            now = timezone.now()
            _changeable(locked, now=now, action="moved")
            page = locked.page
            if slot == locked.starts_at:
                raise ValidationError({"slot": [gettext("The meeting is already at this time.")]})
            avail = page_availability(page, now=now)
            if not page_slot_offered(page, slot, now=now, avail=avail):
                raise ValidationError({"slot": [SLOT_UNAVAILABLE]})
            ends_at = slot + datetime.timedelta(minutes=page.duration_minutes)
            previous = locked.starts_at
            locked.starts_at, locked.ends_at = slot, ends_at
            locked.sequence += 1
            locked.save(update_fields=["starts_at", "ends_at", "sequence"])
            change = _change_record(
                locked,
                kind=BookingChange.Kind.RESCHEDULED,
                actor=actor,
                user=user,
                reason=reason.strip(),
                previous_starts_at=previous,
            )
            booking_changed.send(sender=Booking, change=change)
            # As in booking_submit, the lock last (every writer takes it after its rows, so
            # none waits for a row while holding it): only the check and the commit.
            _availability_lock(page)
            if page_slot_status(page, slot, now=now, exclude=locked, avail=avail) != "free":
                raise SlotTaken
    except IntegrityError:
        raise SlotTaken from None  # a concurrent booking took the slot first
    return locked


@transaction.atomic
def booking_outcome_mark(*, booking: Booking, outcome: str, user=None) -> Booking:
    """Mark a meeting that has started "completed" or "no_show" (staff only). Marking the
    same outcome again changes nothing; a different one replaces it and is recorded.

    Raises BookingClosed for a cancelled booking or one that has not started yet.
    """
    kinds = {"completed": BookingChange.Kind.COMPLETED, "no_show": BookingChange.Kind.NO_SHOW}
    if outcome not in kinds:
        raise ValueError(f"Unknown outcome {outcome!r}")
    locked = _locked(booking)
    if locked.outcome == outcome:
        return locked
    if locked.is_cancelled:
        raise BookingClosed(gettext("This meeting was cancelled; it has no outcome to mark."))
    if locked.starts_at > timezone.now():
        raise BookingClosed(gettext("This meeting has not started yet; mark it once it has."))
    locked.outcome = outcome
    locked.save(update_fields=["outcome"])
    change = _change_record(locked, kind=kinds[outcome], actor=BookingChange.Actor.STAFF, user=user)
    booking_changed.send(sender=Booking, change=change)
    return locked


@transaction.atomic
def api_key_create(*, tenant: Tenant, name: str) -> tuple[ApiKey, str]:
    """Create an API key for `tenant`. Returns the key and its secret, which is not
    stored (only its sha256 is) and so can be shown this once."""
    prefix = API_KEY_PREFIX + secrets.token_hex(4)
    raw_key = f"{prefix}_{secrets.token_urlsafe(32)}"
    api_key = ApiKey.objects.create(
        tenant=tenant, name=name, prefix=prefix, key_hash=api_key_hash(raw_key)
    )
    return api_key, raw_key


@transaction.atomic
def api_key_revoke(*, api_key: ApiKey) -> ApiKey:
    """Revoke `api_key` for good; requests with it are refused from now on (its save
    makes processes that keep it read it again: bookings.receivers)."""
    stored = ApiKey.objects.select_for_update().get(pk=api_key.pk)
    if stored.revoked_at is None:  # revoked once: the first time stays
        stored.revoked_at = timezone.now()
        stored.save(update_fields=["revoked_at"])
    api_key.revoked_at = stored.revoked_at
    return api_key


#: "Last used" is kept to this precision: a key sending many requests writes its row once
#: per interval, not once per request (each a committed write of one hot row).
API_KEY_USED_PRECISION = datetime.timedelta(minutes=1)


def api_key_mark_used(*, api_key: ApiKey) -> None:
    """Record that `api_key` authenticated a request just now (one UPDATE, skipped when
    the key's row, as read, was marked less than API_KEY_USED_PRECISION ago)."""
    now = timezone.now()
    last = api_key.last_used_at
    if last is not None and now - API_KEY_USED_PRECISION < last <= now:
        return
    ApiKey.objects.filter(pk=api_key.pk).update(last_used_at=now)
    api_key.last_used_at = now

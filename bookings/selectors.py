"""Read-side queries of the booking site, shared by public views, the API and the admin."""

import datetime
import hashlib
import zoneinfo
from collections import Counter
from typing import Literal

from django.db import connection
from django.db.models import QuerySet
from django.shortcuts import get_object_or_404
from django.utils import timezone

from bookings.models import ApiKey, Booking, BookingChange, BookingPage, Question
from bookings.slots import Availability, slot_is_offered, slots_free, slots_in_window


def page_get_public(*, tenant_slug: str, page_slug: str) -> BookingPage:
    """The active booking page at /<tenant_slug>/<page_slug>/. Raises Http404 otherwise."""
    return get_object_or_404(
        BookingPage.objects.select_related("tenant"),
        tenant__slug=tenant_slug,
        slug=page_slug,
        active=True,
    )


def page_questions(page: BookingPage) -> list[Question]:
    return list(page.questions.order_by("order", "pk"))


def bookings_active(page: BookingPage) -> QuerySet[Booking]:
    return page.bookings.filter(cancelled_at__isnull=True)


def booking_history(booking: Booking) -> list[BookingChange]:
    """The booking's changes, oldest first, with the staff member who made each."""
    return list(booking.changes.select_related("user").order_by("pk"))


def page_availability(page: BookingPage, *, now: datetime.datetime | None = None) -> Availability:
    """The page's rules as a plain `Availability`: its weekly windows and the overrides of
    the dates a guest may book now (two queries)."""
    zone = zoneinfo.ZoneInfo(page.timezone)
    today = (now or timezone.now()).astimezone(zone).date()
    weekly: dict[int, list] = {}
    for weekday, start, end in page.windows.values_list("weekday", "start", "end"):
        weekly.setdefault(weekday, []).append((start, end))
    overrides: dict[datetime.date, list] = {}
    rows = page.overrides.filter(
        date__gte=today - datetime.timedelta(days=1),
        date__lte=today + datetime.timedelta(days=page.horizon_days + 1),
    ).values_list("date", "start", "end")
    for date, start, end in rows:
        spans = overrides.setdefault(date, [])
        if start is not None:  # a day-off row adds no window
            spans.append((start, end))
    return Availability(
        zone=zone,
        duration=datetime.timedelta(minutes=page.duration_minutes),
        weekly={day: tuple(spans) for day, spans in weekly.items()},
        overrides={day: tuple(spans) for day, spans in overrides.items()},
        notice=datetime.timedelta(minutes=page.min_notice_minutes),
        horizon_days=page.horizon_days,
        buffer_before=datetime.timedelta(minutes=page.buffer_before_minutes),
        buffer_after=datetime.timedelta(minutes=page.buffer_after_minutes),
        daily_cap=page.daily_cap,
    )


# The meetings _busy reads, written out rather than built by the ORM: this runs in every
# booking, under the host's lock, and the ORM took about 1 ms of CPU to build it, over three
# times its round trip. Parameters: until, since, the host's (page's) id, the booking to
# leave out (0: none).
_BUSY_OF_PAGE = (
    "SELECT b.page_id, b.starts_at, b.ends_at FROM bookings_booking b"
    " WHERE b.cancelled_at IS NULL AND b.starts_at < %s AND b.ends_at > %s"
    " AND b.page_id = %s AND b.id <> %s"
)
_BUSY_OF_HOST = (
    "SELECT b.page_id, b.starts_at, b.ends_at FROM bookings_booking b"
    " JOIN bookings_bookingpage p ON p.id = b.page_id"
    " WHERE b.cancelled_at IS NULL AND b.starts_at < %s AND b.ends_at > %s"
    " AND p.host_id = %s AND b.id <> %s"
)


def _busy(
    page: BookingPage,
    avail: Availability,
    slots: list[datetime.datetime],
    exclude: Booking | None,
) -> tuple[list[tuple[datetime.datetime, datetime.datetime]], Counter]:
    """The active meetings that may block `slots` (the host's on all their pages; the
    page's own without a host), and the page's own bookings per local day (one query)."""
    margin = avail.duration + max(avail.buffer_before, avail.buffer_after)
    if avail.daily_cap is None:  # only the meetings near the slots matter
        since, until = slots[0] - margin, slots[-1] + margin
    else:  # and the page's bookings on their whole local days, for the cap
        first, last = avail.local_day(slots[0]), avail.local_day(slots[-1])
        since = avail.day_start(first) - margin
        until = avail.day_start(last + datetime.timedelta(days=1)) + margin
    adapt = connection.ops.adapt_datetimefield_value
    params = [
        adapt(until),
        adapt(since),
        page.host_id or page.pk,
        0 if exclude is None else exclude.pk,
    ]
    sql = _BUSY_OF_HOST if page.host_id is not None else _BUSY_OF_PAGE
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    busy, per_day = [], Counter()
    for page_id, starts_at, ends_at in rows:
        starts_at, ends_at = _aware(starts_at), _aware(ends_at)
        busy.append((starts_at, ends_at))
        if page_id == page.pk:
            per_day[avail.local_day(starts_at)] += 1
    return busy, per_day


def _aware(value: datetime.datetime) -> datetime.datetime:
    """A timestamp column's value from a cursor: aware UTC (SQLite returns it naive)."""
    return value if value.tzinfo is not None else value.replace(tzinfo=datetime.UTC)


def page_free_slots(
    page: BookingPage,
    *,
    now: datetime.datetime | None = None,
    since: datetime.datetime | None = None,
    until: datetime.datetime | None = None,
    exclude: Booking | None = None,
) -> list[datetime.datetime]:
    """Slot starts (UTC, sorted) a guest may book now: offered by the page's hours and
    overrides, within notice and horizon, clear (with buffers) of the host's other active
    meetings, on days under the daily cap. Only those in [since, until) when given;
    `exclude` (a booking being moved) blocks nothing."""
    now = now or timezone.now()
    return _free_slots(page, page_availability(page, now=now), now, since, until, exclude)


def _free_slots(page, avail, now, since, until, exclude) -> list[datetime.datetime]:
    slots = slots_in_window(avail, now, since=since, until=until)
    if not slots:
        return []
    busy, per_day = _busy(page, avail, slots, exclude)
    return slots_free(avail, slots, busy, per_day)


def booking_move_slots(
    booking: Booking,
    *,
    now: datetime.datetime | None = None,
    since: datetime.datetime | None = None,
    until: datetime.datetime | None = None,
) -> list[datetime.datetime]:
    """The free slots `booking` may move to (UTC, sorted): its page's free slots with the
    booking itself blocking nothing (its buffers do not hide the times next to it), less
    its own current time (moving there changes nothing; the service refuses it)."""
    slots = page_free_slots(booking.page, now=now, since=since, until=until, exclude=booking)
    return [s for s in slots if s != booking.starts_at]


SlotStatus = Literal["free", "unavailable", "taken"]


def page_slot_offered(
    page: BookingPage, slot: datetime.datetime, *, now: datetime.datetime, avail: Availability
) -> bool:
    """Whether the page offers `slot` at all at `now` (active, its hours, notice and
    horizon), whatever is booked; `avail` is `page_availability(page)`. No query."""
    return page.active and slot_is_offered(avail, slot, now)


def page_slot_status(
    page: BookingPage,
    slot: datetime.datetime,
    *,
    now: datetime.datetime | None = None,
    exclude: Booking | None = None,
    avail: Availability | None = None,
) -> SlotStatus:
    """Whether a guest may book `slot` on `page` now, by every rule of `page_free_slots`:
    "free"; "unavailable" when the page does not offer that time at all (inactive page,
    outside its hours, notice or horizon); "taken" when it does but other bookings block
    it (overlap, buffers, the host's other meetings, the daily cap). `exclude`: the
    booking being moved (or being made), which does not block itself. `avail`: the
    page's `page_availability`, when the caller has read it already."""
    now = now or timezone.now()
    avail = avail or page_availability(page, now=now)
    if not page_slot_offered(page, slot, now=now, avail=avail):
        return "unavailable"
    busy, per_day = _busy(page, avail, [slot], exclude)
    return "free" if slots_free(avail, [slot], busy, per_day) == [slot] else "taken"


def booking_get_public(*, tenant_slug: str, page_slug: str, uid) -> Booking:
    """The booking with public `uid` under /<tenant_slug>/<page_slug>/ (also once the page
    is inactive: a guest keeps their confirmation). Raises Http404 otherwise."""
    return get_object_or_404(
        Booking.objects.select_related("page__tenant"),
        page__tenant__slug=tenant_slug,
        page__slug=page_slug,
        uid=uid,
    )


def booking_get_for_api(*, tenant, uid) -> Booking | None:
    """`tenant`'s booking `uid` if it was made through the API (its BOOKED change's actor),
    else None."""
    return (
        Booking.objects.select_related("page__tenant")
        .filter(
            page__tenant=tenant,
            uid=uid,
            changes__kind=BookingChange.Kind.BOOKED,
            changes__actor=BookingChange.Actor.API,
        )
        .first()
    )


def api_key_hash(raw_key: str) -> str:
    return hashlib.sha256(raw_key.encode()).hexdigest()


def api_key_find(raw_key: str) -> ApiKey | None:
    """The key (active or revoked) whose secret is `raw_key`, or None."""
    return api_key_find_by_hash(api_key_hash(raw_key))


def api_key_find_by_hash(key_hash: str) -> ApiKey | None:
    """The key (active or revoked) whose secret hashes to `key_hash`, or None."""
    return ApiKey.objects.select_related("tenant").filter(key_hash=key_hash).first()

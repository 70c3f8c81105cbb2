"""Slot arithmetic of a booking page's availability. Pure functions over `Availability`
(a plain snapshot of the page's rules) and busy intervals: no queries here."""

import datetime
import zoneinfo
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field

Span = tuple[datetime.time, datetime.time]
Interval = tuple[datetime.datetime, datetime.datetime]


@dataclass(frozen=True)
class Availability:
    """A page's rules, in its zone. `weekly[weekday]` are the windows of that weekday
    (Monday is 0); `overrides[date]` replace a date's windows (an empty tuple: a day off)."""

    zone: zoneinfo.ZoneInfo
    duration: datetime.timedelta
    weekly: Mapping[int, tuple[Span, ...]] = field(default_factory=dict)
    overrides: Mapping[datetime.date, tuple[Span, ...]] = field(default_factory=dict)
    notice: datetime.timedelta = datetime.timedelta(0)
    horizon_days: int = 14
    buffer_before: datetime.timedelta = datetime.timedelta(0)
    buffer_after: datetime.timedelta = datetime.timedelta(0)
    daily_cap: int | None = None

    def windows_on(self, day: datetime.date) -> tuple[Span, ...]:
        if day in self.overrides:
            return self.overrides[day]
        return self.weekly.get(day.weekday(), ())

    def local_day(self, moment: datetime.datetime) -> datetime.date:
        return moment.astimezone(self.zone).date()

    def day_start(self, day: datetime.date) -> datetime.datetime:
        """The first moment of local date `day` (aware)."""
        return datetime.datetime.combine(day, datetime.time.min, tzinfo=self.zone)


def slots_on_day(avail: Availability, day: datetime.date) -> Iterator[datetime.datetime]:
    """Slot starts (aware, UTC) on local date `day`, ignoring bookings and notice: in each
    window, one slot after another from its start while a whole slot fits.

    Local times that do not exist (the hour skipped when clocks go forward) are left out.
    """
    for start, end in sorted(avail.windows_on(day)):
        local = datetime.datetime.combine(day, start)
        last = datetime.datetime.combine(day, end)
        while local + avail.duration <= last:
            utc = local.replace(tzinfo=avail.zone).astimezone(datetime.UTC)
            if utc.astimezone(avail.zone).replace(tzinfo=None) == local:
                yield utc
            local += avail.duration


def bookable_window(
    avail: Availability, now: datetime.datetime
) -> tuple[datetime.datetime, datetime.datetime]:
    """The [earliest, latest) range of slot starts a guest may book at `now`: minimum
    notice from now, up to the end of the horizon's last local day."""
    earliest = now + avail.notice
    last_day = avail.local_day(now) + datetime.timedelta(days=avail.horizon_days)
    return earliest, avail.day_start(last_day)


def slots_in_window(
    avail: Availability,
    now: datetime.datetime,
    *,
    since: datetime.datetime | None = None,
    until: datetime.datetime | None = None,
) -> list[datetime.datetime]:
    """Every slot start a guest may pick at `now` (before removing busy ones), sorted;
    only those in [since, until) when given (e.g. one month of the guest's calendar)."""
    earliest, latest = bookable_window(avail, now)
    if since is not None:
        earliest = max(earliest, since)
    if until is not None:
        latest = min(latest, until)
    if earliest >= latest:
        return []
    # Local days that can hold a slot in range; a slot starts on its own local day.
    first, last = avail.local_day(earliest), avail.local_day(latest)
    days = (first + datetime.timedelta(days=n) for n in range((last - first).days + 1))
    return [s for day in days for s in slots_on_day(avail, day) if earliest <= s < latest]


def slot_is_offered(
    avail: Availability, starts_at: datetime.datetime, now: datetime.datetime
) -> bool:
    """Whether `starts_at` is a slot of the availability inside the bookable window (busy
    times, buffers and the daily cap aside: see `slots_free`): one of `slots_on_day`,
    found by arithmetic on its day's windows instead of listing them."""
    earliest, latest = bookable_window(avail, now)
    if not earliest <= starts_at < latest:
        return False
    local = starts_at.astimezone(avail.zone).replace(tzinfo=None, fold=0)
    day = local.date()
    for start, end in avail.windows_on(day):
        first = datetime.datetime.combine(day, start)
        if not first <= local <= datetime.datetime.combine(day, end) - avail.duration:
            continue
        if (local - first) % avail.duration:
            continue
        # As slots_on_day: the local time read in the zone's first reading (fold=0) must
        # be this instant; the second pass of a repeated hour is not a slot.
        return local.replace(tzinfo=avail.zone).astimezone(datetime.UTC) == starts_at
    return False


def slots_free(
    avail: Availability,
    slots: list[datetime.datetime],
    busy: Iterable[Interval],
    booked_days: Counter[datetime.date] | None = None,
) -> list[datetime.datetime]:
    """The `slots` (sorted) that no busy meeting blocks, on days under the daily cap.

    A slot [s, e) is blocked by a busy meeting [bs, be) when it overlaps it, starts within
    `buffer_after` of its end, or ends within `buffer_before` of its start: the meeting
    is widened to [bs - buffer_before, be + buffer_after). `booked_days` counts the page's
    own active bookings per local day, for `daily_cap`.
    """
    if avail.daily_cap is not None and booked_days:
        full = {day for day, count in booked_days.items() if count >= avail.daily_cap}
        slots = [s for s in slots if avail.local_day(s) not in full]
    widened = sorted((bs - avail.buffer_before, be + avail.buffer_after) for bs, be in busy)
    # One sweep over the slots and the merged busy intervals (both sorted): linear, so a
    # long horizon of short slots with thousands of bookings stays cheap on a public page.
    merged: list[list[datetime.datetime]] = []
    for start, end in widened:
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    free, i = [], 0
    for slot in slots:
        while i < len(merged) and merged[i][1] <= slot:
            i += 1
        if i < len(merged) and merged[i][0] < slot + avail.duration:
            continue
        free.append(slot)
    return free

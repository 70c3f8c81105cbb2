"""Slot arithmetic of a booking page's weekly availability. Pure functions, no queries."""

import datetime
import zoneinfo
from collections.abc import Iterator

from bookings.models import BookingPage


def page_zone(page: BookingPage) -> zoneinfo.ZoneInfo:
    return zoneinfo.ZoneInfo(page.timezone)


def slots_on_day(page: BookingPage, day: datetime.date) -> Iterator[datetime.datetime]:
    """Slot starts (aware, UTC) on local date `day`, ignoring bookings and notice.

    Local times that do not exist (the hour skipped when clocks go forward) are left out.
    """
    if day.weekday() not in page.weekdays:
        return
    zone, step = page_zone(page), datetime.timedelta(minutes=page.duration_minutes)
    start = datetime.datetime.combine(day, page.day_start)
    end = datetime.datetime.combine(day, page.day_end)
    local = start
    while local + step <= end:
        utc = local.replace(tzinfo=zone).astimezone(datetime.UTC)
        if utc.astimezone(zone).replace(tzinfo=None) == local:
            yield utc
        local += step


def bookable_window(
    page: BookingPage, now: datetime.datetime
) -> tuple[datetime.datetime, datetime.datetime]:
    """The [earliest, latest) range of slot starts a guest may book at `now`."""
    earliest = now + datetime.timedelta(minutes=page.min_notice_minutes)
    today = now.astimezone(page_zone(page)).date()
    last_day = today + datetime.timedelta(days=page.horizon_days)
    latest = datetime.datetime.combine(last_day, datetime.time.min, tzinfo=page_zone(page))
    return earliest, latest


def slots_in_window(page: BookingPage, now: datetime.datetime) -> list[datetime.datetime]:
    """Every slot start a guest may pick at `now`, before removing booked ones."""
    earliest, latest = bookable_window(page, now)
    today = now.astimezone(page_zone(page)).date()
    days = (today + datetime.timedelta(days=n) for n in range(page.horizon_days))
    return [s for day in days for s in slots_on_day(page, day) if earliest <= s < latest]


def slot_is_offered(
    page: BookingPage, starts_at: datetime.datetime, now: datetime.datetime
) -> bool:
    """Whether `starts_at` is a slot of the page's availability inside the bookable window."""
    earliest, latest = bookable_window(page, now)
    if not earliest <= starts_at < latest:
        return False
    local_day = starts_at.astimezone(page_zone(page)).date()
    return starts_at in set(slots_on_day(page, local_day))

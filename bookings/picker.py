"""The time picker of the public pages: a month calendar marking the days with free times,
the free times of the chosen day, and the guest's time zone.

Server-rendered and complete without JavaScript: the calendar is links
(`?month=2026-12&date=2026-12-03&tz=Asia/Tokyo`, keeping the page's other URL parameters),
the times are radio buttons named `slot`. `static/bookings/picker.js` then swaps days and
times in place from the JSON endpoints (`days_payload`, `times_payload`).

Reuse: `picker_context(request, page, exclude=...)` and
`{% include "bookings/_picker.html" %}` inside a form that posts `slot` (and `timezone`).
"""

import calendar
import datetime
import re
import zoneinfo
from dataclasses import dataclass
from urllib.parse import parse_qsl, unquote, urlencode

from django.http import HttpRequest, JsonResponse
from django.urls import reverse
from django.utils import formats, timezone, translation
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _

from bookings.answers import KNOWN_ZONES
from bookings.models import Booking, BookingPage
from bookings.selectors import booking_move_slots, page_free_slots

TZ_COOKIE = "leadsync_tz"  # set by the page's script from Intl, or by "Update times"
#: the picker's own query parameters: how the page is shown, not what the guest brought
PICKER_PARAMS = frozenset({"month", "date", "tz"})
MONTH = re.compile(r"^(\d{4})-(\d{2})$")
DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


class BadPickerInput(ValueError):
    """A malformed month, date or zone; str() says what is wrong, for the person."""


def zone_for(page: BookingPage, *candidates: str | None) -> tuple[zoneinfo.ZoneInfo, bool]:
    """The first known zone among `candidates`, else the page's. Also: was it the default?"""
    for candidate in candidates:
        if candidate and candidate in KNOWN_ZONES:
            return zoneinfo.ZoneInfo(candidate), False
    return zoneinfo.ZoneInfo(page.timezone), True


def query_param(request: HttpRequest, name: str) -> str | None:
    """The first value of `name` in the raw query: request.GET refuses a URL with very many
    parameters, which the page itself accepts (bookings.url_params)."""
    for key, value in parse_qsl(request.META.get("QUERY_STRING", ""), keep_blank_values=True):
        if key == name:
            return value
    return None


def request_zone(
    request: HttpRequest, page: BookingPage, fallback: str | None = None
) -> tuple[zoneinfo.ZoneInfo, bool]:
    """The zone to show times in: posted, else ?tz=, else the cookie, else `fallback`,
    else the page's."""
    cookie = unquote(request.COOKIES.get(TZ_COOKIE, ""))
    posted, asked = request.POST.get("timezone"), query_param(request, "tz")
    return zone_for(page, posted, asked, cookie, fallback)


def month_parse(value: str) -> datetime.date:
    """The first day of month "YYYY-MM". Raises BadPickerInput."""
    match = MONTH.match(value or "")
    if not match or not 1 <= int(match[2]) <= 12 or int(match[1]) < 1:
        raise BadPickerInput(_("month must look like 2026-12, not %(value)r.") % {"value": value})
    return datetime.date(int(match[1]), int(match[2]), 1)


def date_parse(value: str) -> datetime.date:
    """Date "YYYY-MM-DD". Raises BadPickerInput."""
    try:
        if not DATE.match(value or ""):
            raise ValueError
        return datetime.date.fromisoformat(value)
    except ValueError:
        message = _("date must be a day like 2026-12-03, not %(value)r.") % {"value": value}
        raise BadPickerInput(message) from None


def zone_parse(value: str | None, page: BookingPage) -> zoneinfo.ZoneInfo:
    """The zone named `value` (the page's when empty). Raises BadPickerInput."""
    if not value:
        return zoneinfo.ZoneInfo(page.timezone)
    if value not in KNOWN_ZONES:
        message = _("tz must be a time zone such as Europe/Paris, not %(value)r.")
        raise BadPickerInput(message % {"value": value})
    return zoneinfo.ZoneInfo(value)


def _next_month(month: datetime.date) -> datetime.date:
    return (month + datetime.timedelta(days=32)).replace(day=1)


def _prev_month(month: datetime.date) -> datetime.date:
    return (month - datetime.timedelta(days=1)).replace(day=1)


def _free(page, *, now, since, until, exclude) -> list[datetime.datetime]:
    """The page's free slots in [since, until); for a booking being moved (`exclude`), the
    times it may move to: itself blocking nothing, its own current time left out."""
    if exclude is not None:
        return booking_move_slots(exclude, now=now, since=since, until=until)
    return page_free_slots(page, now=now, since=since, until=until)


def _midnight(day: datetime.date, zone: zoneinfo.ZoneInfo) -> datetime.datetime:
    return datetime.datetime.combine(day, datetime.time.min, tzinfo=zone)


@dataclass(frozen=True)
class MonthRange:
    """The months a guest may browse at `now` in `zone`: from this month to the one the
    page's horizon ends in."""

    first: datetime.date
    last: datetime.date

    @classmethod
    def of(cls, page: BookingPage, zone: zoneinfo.ZoneInfo, now: datetime.datetime) -> "MonthRange":
        end = now + datetime.timedelta(days=page.horizon_days + 1)
        first, last = now.astimezone(zone).date(), end.astimezone(zone).date()
        return cls(first.replace(day=1), last.replace(day=1))

    def clamp(self, month: datetime.date) -> datetime.date:
        return min(max(month, self.first), self.last)


def month_free_slots(
    page: BookingPage,
    month: datetime.date,
    zone: zoneinfo.ZoneInfo,
    *,
    now: datetime.datetime,
    exclude: Booking | None = None,
) -> list[datetime.datetime]:
    """Free slot starts in the guest's local `month` (first day given)."""
    since, until = _midnight(month, zone), _midnight(_next_month(month), zone)
    return _free(page, now=now, since=since, until=until, exclude=exclude)


def day_free_slots(
    page: BookingPage,
    day: datetime.date,
    zone: zoneinfo.ZoneInfo,
    *,
    now: datetime.datetime,
    exclude: Booking | None = None,
) -> list[datetime.datetime]:
    """Free slot starts on the guest's local date `day`."""
    since = _midnight(day, zone)
    until = _midnight(day + datetime.timedelta(days=1), zone)
    return _free(page, now=now, since=since, until=until, exclude=exclude)


def time_items(
    slots: list[datetime.datetime], zone: zoneinfo.ZoneInfo, minutes: int
) -> list[dict[str, str]]:
    """The times as the picker shows them: {"slot": UTC ISO, "label": "09:00", "end": "09:30"}."""
    step = datetime.timedelta(minutes=minutes)
    return [
        {
            "slot": s.isoformat(),
            "label": f"{s.astimezone(zone):%H:%M}",
            "end": f"{(s + step).astimezone(zone):%H:%M}",
        }
        for s in slots
    ]


def days_payload(
    page: BookingPage,
    month: datetime.date,
    zone: zoneinfo.ZoneInfo,
    *,
    exclude: Booking | None = None,
) -> dict:
    """The days of `month` with free times, and the months the guest may move to."""
    return _days(page, month, zone, exclude=exclude)[0]


def _days(page, month, zone, *, exclude) -> tuple[dict, list[datetime.datetime]]:
    now = timezone.now()
    span = MonthRange.of(page, zone, now)
    slots = month_free_slots(page, month, zone, now=now, exclude=exclude)
    days = sorted({s.astimezone(zone).date() for s in slots})
    payload = {
        "month": f"{month:%Y-%m}",
        "timezone": str(zone),
        "days": [d.isoformat() for d in days],
        "prev": f"{_prev_month(month):%Y-%m}" if month > span.first else None,
        "next": f"{_next_month(month):%Y-%m}" if month < span.last else None,
    }
    return payload, slots


def times_payload(
    page: BookingPage, day: datetime.date, zone: zoneinfo.ZoneInfo, *, exclude=None
) -> dict:
    return _times(page, day, zone, exclude=exclude)[0]


def _times(page, day, zone, *, exclude) -> tuple[dict, list[datetime.datetime]]:
    slots = day_free_slots(page, day, zone, now=timezone.now(), exclude=exclude)
    payload = {
        "date": day.isoformat(),
        "timezone": str(zone),
        "label": f"{day:%A %-d %B %Y}",
        "times": time_items(slots, zone, page.duration_minutes),
    }
    return payload, slots


def changes_at(page: BookingPage, slots: list[datetime.datetime]) -> datetime.datetime | None:
    """When what `slots` shows changes with time alone: the first leaves the minimum
    notice (None: no slot shown)."""
    return min(slots) - datetime.timedelta(minutes=page.min_notice_minutes) if slots else None


def days_response(request: HttpRequest, page: BookingPage, *, exclude=None) -> JsonResponse:
    """GET ?month=YYYY-MM&tz=Zone answered with `days_payload` (for moving `exclude`, when
    given); 400 {"error": ...} in the page's language for a malformed month or zone. The
    answer's `changes_at` says until when it holds (bookings.page_cache)."""
    with translation.override(page.language):
        try:
            zone = zone_parse(request.GET.get("tz"), page)
            month = month_parse(request.GET.get("month", ""))
        except BadPickerInput as e:
            return JsonResponse({"error": str(e)}, status=400)
        return _answer(page, *_days(page, month, zone, exclude=exclude))


def times_response(request: HttpRequest, page: BookingPage, *, exclude=None) -> JsonResponse:
    """GET ?date=YYYY-MM-DD&tz=Zone answered with `times_payload` (for moving `exclude`,
    when given); 400 {"error": ...} in the page's language for a malformed date or zone.
    The answer's `changes_at` says until when it holds (bookings.page_cache)."""
    with translation.override(page.language):
        try:
            zone = zone_parse(request.GET.get("tz"), page)
            day = date_parse(request.GET.get("date", ""))
        except BadPickerInput as e:
            return JsonResponse({"error": str(e)}, status=400)
        return _answer(page, *_times(page, day, zone, exclude=exclude))


def _answer(page: BookingPage, payload: dict, slots: list[datetime.datetime]) -> JsonResponse:
    response = JsonResponse(payload)
    response.changes_at = changes_at(page, slots)
    return response


def _query_without_picker(request: HttpRequest) -> list[tuple[str, str]]:
    """The request's own query parameters (URL parameters, embed marker) to keep in links."""
    pairs = parse_qsl(request.META.get("QUERY_STRING", ""), keep_blank_values=True)
    return [(k, v) for k, v in pairs if k not in PICKER_PARAMS]


def picker_context(
    request: HttpRequest,
    page: BookingPage,
    *,
    exclude: Booking | None = None,
    base_url: str | None = None,
    days_url: str | None = None,
    times_url: str | None = None,
    zone_chooser_url: str | None = None,
    guest_zone: str | None = None,
    keep_query: bool = True,
) -> dict:
    """Everything `bookings/_picker.html` shows, for `page` as `request` asks for it:
    the zone (posted `timezone`, `?tz=`, the cookie, the page's), the month (`?month=`,
    else the first with free times), the chosen day (the posted slot's, `?date=`, else
    the month's first free day) and its free times. `exclude`: a booking being moved,
    whose own time counts as free. The URLs default to the page's and its JSON endpoints
    (a reschedule page passes its own, which know `exclude`, and its no-JS zone chooser).
    `guest_zone`: the zone to fall back to before the page's (the booking's guest's).
    `keep_query`: keep the request's other query parameters in the links (the booking
    page's URL parameters); a page whose query means nothing to the picker says False.
    Bad query values are ignored (the page is shown as without them)."""
    now = timezone.now()
    zone, zone_is_default = request_zone(request, page, guest_zone)
    asked = request.POST.get("timezone") or query_param(request, "tz")
    span = MonthRange.of(page, zone, now)
    chosen = _posted_slot(request)
    day = (
        chosen.astimezone(zone).date() if chosen else _try(date_parse, query_param(request, "date"))
    )
    month = _try(month_parse, query_param(request, "month"))
    if chosen or month is None:
        month = day.replace(day=1) if day else month
    month, slots, nothing_free = _month_shown(page, month, span, zone, now=now, exclude=exclude)
    by_day: dict[datetime.date, list[datetime.datetime]] = {}
    for s in slots:
        by_day.setdefault(s.astimezone(zone).date(), []).append(s)
    if day is None and by_day:
        day = min(by_day)
    if day is not None and day.replace(day=1) != month:
        day_slots = day_free_slots(page, day, zone, now=now, exclude=exclude)
    else:
        day_slots = by_day.get(day, [])

    base_url = base_url or page.get_absolute_url()
    keep = _query_without_picker(request) if keep_query else []
    joiner = "&" if "?" in base_url else "?"

    def link(**params) -> str:
        return f"{base_url}{joiner}{urlencode([*keep, *params.items(), ('tz', str(zone))])}"

    weeks_dates = calendar.Calendar(firstweekday=0).monthdatescalendar(month.year, month.month)
    weeks = [
        [
            {
                "date": d,
                "in_month": d.month == month.month,
                "free": d in by_day and d.month == month.month,
                "selected": d == day,
                "url": link(month=f"{month:%Y-%m}", date=d.isoformat()),
            }
            for d in week
        ]
        for week in weeks_dates
    ]
    prev_month = _prev_month(month) if month > span.first else None
    next_month = _next_month(month) if month < span.last else None
    tenant_slug, page_slug = page.tenant.slug, page.slug
    shown = [("month", f"{month:%Y-%m}"), ("tz", str(zone))]
    if day is not None:
        shown.append(("date", day.isoformat()))
    chooser = zone_chooser_url or reverse("bookings:zone_chooser", args=[tenant_slug, page_slug])
    return {
        "zone": str(zone),
        "zone_is_default": zone_is_default,
        "zone_unknown": asked if asked and asked not in KNOWN_ZONES else "",
        "month": month,
        "month_value": f"{month:%Y-%m}",
        "weeks": weeks,
        # Monday first, in the active language ("Mon", "月", ...).
        "weekday_names": [formats.date_format(d, "D") for d in weeks_dates[0]],
        "prev_url": link(month=f"{prev_month:%Y-%m}") if prev_month else "",
        "next_url": link(month=f"{next_month:%Y-%m}") if next_month else "",
        "prev_month": prev_month,
        "next_month": next_month,
        "any_free": bool(slots),
        "nothing_free": nothing_free,
        "day": day,
        "times": time_items(day_slots, zone, page.duration_minutes),
        "chosen": chosen.isoformat() if chosen else "",
        "horizon_days": page.horizon_days,
        "days_url": days_url or reverse("bookings:days", args=[tenant_slug, page_slug]),
        "times_url": times_url or reverse("bookings:times", args=[tenant_slug, page_slug]),
        "zones_url": reverse("bookings:zones"),
        "zone_chooser_url": f"{chooser}?{urlencode([*keep, *shown])}",
        # The first shown time leaves the minimum notice then: what is shown changes.
        "changes_at": changes_at(page, slots + day_slots),
    }


def _month_shown(page, month, span, zone, *, now, exclude):
    """(the month to show, its free slots, whether nothing is free in the whole horizon):
    the asked `month` within the bookable months, else the first that has a free time."""
    if month is not None:
        month = span.clamp(month)
        return month, month_free_slots(page, month, zone, now=now, exclude=exclude), False
    month = span.first
    while True:
        slots = month_free_slots(page, month, zone, now=now, exclude=exclude)
        if slots:
            return month, slots, False
        if month >= span.last:
            return span.first, [], True
        month = _next_month(month)


def _try(parse, value):
    try:
        return parse(value) if value else None
    except BadPickerInput:
        return None


def _posted_slot(request: HttpRequest) -> datetime.datetime | None:
    value = request.POST.get("slot") if request.method == "POST" else None
    try:
        parsed = parse_datetime(value) if value else None
    except ValueError:
        return None
    return parsed if parsed is not None and parsed.tzinfo is not None else None

"""The guest's manage page, /<tenant>/<page>/manage/<token>/ (bookings.manage_links):
see the meeting in their own time zone, cancel it (optional reason) or move it to another
free time of the same page. No login; CSRF on; rate-limited like the booking form.

The time picker is a plain list of radio buttons per day (<details>, works without
JavaScript); the calendar picker of the booking page may replace it.
"""

from __future__ import annotations

import datetime
import itertools

from django.conf import settings
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import formats, translation
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from bookings.guest_email_render import guest_zone, when_text
from bookings.manage_links import LinkExpired, manage_booking_find, manage_path
from bookings.models import Booking, BookingChange
from bookings.ratelimits import submission_limited, too_many_requests
from bookings.selectors import page_free_slots
from bookings.services import BookingClosed, SlotTaken, booking_cancel, booking_reschedule

REASON_MAX = 1000
DONE = {"cancelled", "rescheduled"}


def _limited(request: HttpRequest) -> bool:
    rate = settings.BOOKING_RATE_LIMIT_PER_IP
    return submission_limited(request, group="bookings.manage", rate=rate, key="ip")


def slot_days(slots: list[datetime.datetime], zone) -> list[dict]:
    """Free slots grouped by the guest's calendar day: [{"label", "slots": [(value, time)]}]."""
    local = [(s, s.astimezone(zone)) for s in slots]
    days = []
    for day, group in itertools.groupby(local, key=lambda pair: pair[1].date()):
        days.append(
            {
                "label": formats.date_format(day, "l") + ", " + formats.date_format(day),
                "slots": [
                    (s.astimezone(datetime.UTC).isoformat(), formats.time_format(t, "H:i"))
                    for s, t in group
                ],
            }
        )
    return days


@require_http_methods(["GET", "POST"])
def booking_manage(request: HttpRequest, tenant_slug: str, page_slug: str, token: str):
    try:
        booking = manage_booking_find(tenant_slug=tenant_slug, page_slug=page_slug, token=token)
    except Booking.DoesNotExist:
        return _unavailable(request, status=404)
    except LinkExpired:
        return _unavailable(request, status=410)
    with translation.override(booking.page.language):
        if request.method == "POST":
            if _limited(request):
                return too_many_requests(
                    _("Too many attempts from your network. Please wait a few minutes."),
                    rate=settings.BOOKING_RATE_LIMIT_PER_IP,
                )
            return _post(request, booking)
        return _show(request, booking, done=request.GET.get("done", ""))


def _post(request: HttpRequest, booking: Booking) -> HttpResponse:
    action = request.POST.get("action")
    reason = request.POST.get("reason", "").strip()
    if action == "cancel":
        if len(reason) > REASON_MAX:
            message = _("Please keep the reason under %(max)s characters.") % {"max": REASON_MAX}
            return _show(request, booking, cancel_error=message, reason=reason, status=400)
        try:
            booking_cancel(booking=booking, actor=BookingChange.Actor.GUEST, reason=reason)
        except BookingClosed as e:
            return _show(request, booking, cancel_error=str(e), reason=reason, status=409)
        return redirect(f"{manage_path(booking)}?done=cancelled")
    if action == "reschedule":
        value = request.POST.get("slot", "")
        slot = _parse_slot(value)
        if slot is None:
            message = _("Please pick one of the free times below.")
            return _show(request, booking, slot_error=message, status=400)
        try:
            booking_reschedule(booking=booking, slot=slot, actor=BookingChange.Actor.GUEST)
        except SlotTaken:
            message = _("Sorry, this time was just booked by someone else. Please pick another.")
            return _show(request, booking, slot_error=message, status=409)
        except BookingClosed as e:
            return _show(request, booking, slot_error=str(e), status=409)
        except ValidationError as e:
            message = " ".join(e.message_dict.get("slot", e.messages))
            return _show(request, booking, slot_error=message, status=400)
        return redirect(f"{manage_path(booking)}?done=rescheduled")
    return _show(request, booking, slot_error=_("Please choose what to do."), status=400)


def _parse_slot(value: str) -> datetime.datetime | None:
    try:
        parsed = parse_datetime(value)
    except ValueError:
        return None
    if parsed is None or parsed.tzinfo is None:
        return None
    return parsed


def _show(
    request: HttpRequest,
    booking: Booking,
    *,
    done: str = "",
    cancel_error: str = "",
    slot_error: str = "",
    reason: str = "",
    status: int = 200,
) -> HttpResponse:
    booking.refresh_from_db()
    page = booking.page
    zone = guest_zone(booking)
    closed = booking.is_cancelled or bool(booking.outcome)
    started = booking.starts_at <= datetime.datetime.now(datetime.UTC)
    free = [] if closed or started else page_free_slots(page)
    return render(
        request,
        "bookings/manage.html",
        {
            "page": page,
            "tenant": page.tenant,
            "booking": booking,
            "when": when_text(booking.starts_at, booking.ends_at, zone),
            "zone": str(zone),
            "language": page.language,
            "done": done if done in DONE else "",
            "closed": closed,
            "started": started,
            "days": slot_days(free, zone),
            "cancel_error": cancel_error,
            "slot_error": slot_error,
            "reason": reason,
            "reason_max": REASON_MAX,
        },
        status=status,
    )


def _unavailable(request: HttpRequest, *, status: int) -> HttpResponse:
    return render(
        request, "bookings/manage_unavailable.html", {"expired": status == 410}, status=status
    )

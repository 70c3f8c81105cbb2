"""The guest's manage page, /<tenant>/<page>/manage/<token>/ (bookings.manage_links):
see the meeting in their own time zone, cancel it (optional reason) or move it to another
free time of the same page. No login; CSRF on; rate-limited like the booking form.

The new time is picked with the booking page's calendar picker (bookings.picker), with
the booking excluded (its buffers hide nothing; its own time is not offered), through the
token-scoped JSON endpoints below and a token-scoped no-JS time zone chooser; "Update
times" (`show_times`) shows the page again and moves nothing.
"""

from __future__ import annotations

import datetime
from urllib.parse import urlencode

from django.conf import settings
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from bookings.answers import TIMEZONE_CHOICES
from bookings.guest_email_render import guest_zone, when_text
from bookings.manage_links import LinkExpired, manage_booking_find, manage_path
from bookings.models import Booking, BookingChange
from bookings.picker import (
    TZ_COOKIE,
    days_response,
    picker_context,
    times_response,
    zone_for,
)
from bookings.ratelimits import submission_limited, too_many_requests
from bookings.services import BookingClosed, SlotTaken, booking_cancel, booking_reschedule

REASON_MAX = 1000
DONE = {"cancelled", "rescheduled"}
SHOW_TIMES = "show_times"  # the picker's no-JS "Update times" button: re-show, do not move


def _limited(request: HttpRequest) -> bool:
    rate = settings.BOOKING_RATE_LIMIT_PER_IP
    return submission_limited(request, group="bookings.manage", rate=rate, key="ip")


@require_http_methods(["GET", "POST"])
def booking_manage(request: HttpRequest, tenant_slug: str, page_slug: str, token: str):
    try:
        booking = manage_booking_find(tenant_slug=tenant_slug, page_slug=page_slug, token=token)
    except Booking.DoesNotExist:
        return _unavailable(request, status=404)
    except LinkExpired as expired:
        return _unavailable(request, status=410, language=expired.language)
    with translation.override(booking.page.language):
        if request.method == "POST" and SHOW_TIMES in request.POST:
            response = _show(request, booking)
            zone = request.POST.get("timezone", "")
            if zone_for(booking.page, zone)[0].key == zone:  # a known zone: remember it
                response.set_cookie(TZ_COOKIE, zone, max_age=365 * 86400, samesite="Lax")
            return response
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
    picker = None if closed or started else _picker(request, booking, str(zone))
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
            "picker": picker,
            "cancel_error": cancel_error,
            "slot_error": slot_error,
            "reason": reason,
            "reason_max": REASON_MAX,
        },
        status=status,
    )


def _unavailable(request: HttpRequest, *, status: int, language: str = "") -> HttpResponse:
    """A link that is not (404) or no longer (410, in its page's language) valid."""
    language = language or settings.LANGUAGE_CODE
    with translation.override(language):
        return render(
            request,
            "bookings/manage_unavailable.html",
            {"expired": status == 410, "language": language.split("-")[0]},
            status=status,
        )


def _picker(request: HttpRequest, booking: Booking, zone: str) -> dict:
    """The booking page's picker for moving `booking`: links, JSON and the no-JS zone
    chooser all under the token's address, so they know which booking to leave out."""
    page = booking.page
    args = [page.tenant.slug, page.slug, _token(request)]
    return picker_context(
        request,
        page,
        exclude=booking,
        base_url=reverse("bookings:manage", args=args),
        days_url=reverse("bookings:manage_days", args=args),
        times_url=reverse("bookings:manage_times", args=args),
        zone_chooser_url=reverse("bookings:manage_zone_chooser", args=args),
        guest_zone=zone,
        keep_query=False,  # ?done=... is a one-time notice, not for the calendar's links
    )


def _token(request: HttpRequest) -> str:
    return request.resolver_match.kwargs["token"]


def _open_booking(tenant_slug: str, page_slug: str, token: str) -> Booking | JsonResponse:
    """The booking the token is for, if it may still be moved; else the JSON answer: 404
    for a tampered, unknown or another page's token, 410 for a meeting that is over,
    cancelled, marked or already started."""
    try:
        booking = manage_booking_find(tenant_slug=tenant_slug, page_slug=page_slug, token=token)
    except Booking.DoesNotExist:
        return JsonResponse({"error": _("This link is not valid.")}, status=404)
    except LinkExpired:
        return JsonResponse({"error": _("This link has expired.")}, status=410)
    if booking.is_cancelled or booking.outcome or booking.starts_at <= timezone.now():
        message = _("This meeting can no longer be moved.")
        return JsonResponse({"error": message}, status=410)
    return booking


@require_GET
def manage_days(request: HttpRequest, tenant_slug: str, page_slug: str, token: str):
    """GET ?month=YYYY-MM&tz=Zone: as bookings.views.booking_days, for moving the token's
    booking (it blocks nothing; its own time is not offered)."""
    booking = _open_booking(tenant_slug, page_slug, token)
    if isinstance(booking, JsonResponse):
        return booking
    return days_response(request, booking.page, exclude=booking)


@require_GET
def manage_times(request: HttpRequest, tenant_slug: str, page_slug: str, token: str):
    """GET ?date=YYYY-MM-DD&tz=Zone: as bookings.views.booking_times, for moving the
    token's booking."""
    booking = _open_booking(tenant_slug, page_slug, token)
    if isinstance(booking, JsonResponse):
        return booking
    return times_response(request, booking.page, exclude=booking)


@require_GET
def manage_zone_chooser(request: HttpRequest, tenant_slug: str, page_slug: str, token: str):
    """The list of time zones for a guest without JavaScript, back to the manage page."""
    try:
        booking = manage_booking_find(tenant_slug=tenant_slug, page_slug=page_slug, token=token)
    except Booking.DoesNotExist:
        return _unavailable(request, status=404)
    except LinkExpired as expired:
        return _unavailable(request, status=410, language=expired.language)
    page = booking.page
    zone, _default = zone_for(page, request.GET.get("tz"), booking.guest_timezone)
    keep = [(k, v) for k, v in request.GET.items() if k in ("month", "date")]
    back = reverse("bookings:manage", args=[tenant_slug, page_slug, token])
    with translation.override(page.language):
        return render(
            request,
            "bookings/zone_chooser.html",
            {
                "page": page,
                "tenant": page.tenant,
                "language": page.language,
                "zone": str(zone),
                "zones": TIMEZONE_CHOICES,
                "keep": keep,
                "form_action": back,
                "back_url": f"{back}?{urlencode([*keep, ('tz', str(zone))])}",
                "robots": "noindex",
            },
        )

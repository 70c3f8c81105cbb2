"""Public booking pages: /<tenant>/<page>/, its confirmation and the .ics download."""

import zoneinfo
from urllib.parse import unquote

from django.conf import settings
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods

from bookings import embed
from bookings.answers import TIMEZONE_CHOICES
from bookings.forms import BookingForm, PageAnswersForm, slot_choices
from bookings.ics import booking_ics
from bookings.manage_links import manage_path
from bookings.models import BookingPage
from bookings.ratelimits import page_submission_limited, too_many_requests
from bookings.selectors import (
    booking_get_public,
    page_free_slots,
    page_get_public,
    page_questions,
)
from bookings.services import Guest, SlotTaken, booking_submit
from bookings.url_params import url_params_from_query

TZ_COOKIE = "leadsync_tz"  # set by the page's inline script from Intl, or by "Update times"
KNOWN_ZONES = {z for z, _ in TIMEZONE_CHOICES}
SHOW_TIMES = "show_times"  # the no-JS "Update times" button: re-show, do not book
SLOT_TAKEN = "Sorry, this time was just booked by someone else. Please pick another time."
BOT_REFUSED = (
    "Your booking was refused because the form looked automatically filled in. "
    "If you are a person, please reload the page and try again."
)
RATE_LIMITED = (
    "Too many booking attempts from your network. Please wait a few minutes and try again."
)


def _zone(page: BookingPage, *candidates: str | None) -> tuple[zoneinfo.ZoneInfo, bool]:
    """The first known zone among `candidates`, else the page's. Also: was it the default?"""
    for candidate in candidates:
        if candidate and candidate in KNOWN_ZONES:
            return zoneinfo.ZoneInfo(candidate), False
    return zoneinfo.ZoneInfo(page.timezone), True


def _error_summary(*forms) -> list[tuple[str, str]]:
    """(anchor id, message) for every error, for the summary at the top of the page."""
    summary = []
    for form in forms:
        for name, errors in form.errors.items():
            field = form[name] if name in form.fields else None
            anchor = "booking-form"
            if field is not None:  # a radio group's label points at no input: use the first
                anchor = field.id_for_label or f"{field.auto_id}_0"
            label = f"{field.label.rstrip(':')}: " if field is not None else ""
            if label.endswith("?: "):  # "Which topic?: ..." reads badly
                label = label[:-2] + " "
            summary += [(anchor, f"{label}{message}") for message in errors]
    return summary


@csrf_exempt  # checked below, except in the embedded variant (see bookings.embed)
@require_http_methods(["GET", "POST"])
def booking_page(request: HttpRequest, tenant_slug: str, page_slug: str) -> HttpResponse:
    embedded = embed.embed_requested(request)
    refused = embed.csrf_refusal(request, embedded=embedded)
    if refused is not None:
        return refused
    page = page_get_public(tenant_slug=tenant_slug, page_slug=page_slug)
    questions = page_questions(page)
    posted = request.method == "POST"
    showing_times = posted and SHOW_TIMES in request.POST
    submitting = posted and not showing_times
    if submitting and page_submission_limited(request):
        return too_many_requests(RATE_LIMITED, rate=settings.BOOKING_RATE_LIMIT_PER_IP)

    cookie_zone = unquote(request.COOKIES.get(TZ_COOKIE, ""))
    zone, zone_is_default = _zone(page, request.POST.get("timezone"), cookie_zone)
    data = request.POST if posted else None
    form = BookingForm(
        data, page=page, slots=lambda: page_free_slots(page), zone=zone, quiet=showing_times,
        label_suffix="",
    )  # fmt: skip
    answers_form = PageAnswersForm(
        data, questions=questions, prefix="q", quiet=showing_times, label_suffix=""
    )
    if submitting:
        if form.is_bot():
            return HttpResponse(BOT_REFUSED, status=400, content_type="text/plain")
        booked = _submit(request, page, form, answers_form, zone, embedded=embedded)
        if booked is not None:
            return booked

    response = render(
        request,
        "bookings/page.html",
        {
            "page": page,
            "tenant": page.tenant,
            "form": form,
            "answers_form": answers_form,
            "errors": _error_summary(form, answers_form) if submitting else [],
            "zone": str(zone),
            "detect_zone": not posted and zone_is_default,
            "tz_cookie": TZ_COOKIE,
            "show_times": SHOW_TIMES,
            "embedded": embedded,
        },
    )
    if embedded:
        embed.embed_allow(response, page.tenant)
    if showing_times:
        response.set_cookie(TZ_COOKIE, str(zone), max_age=365 * 86400, samesite="Lax")
    return response


def _submit(
    request: HttpRequest, page: BookingPage, form, answers_form, zone, *, embedded: bool
) -> HttpResponse | None:
    """Book the posted slot: the redirect to the confirmation, or None with the errors on
    the forms (the page is shown again)."""
    if not (form.is_valid() & answers_form.is_valid()):
        return None
    try:
        booking = booking_submit(
            page=page,
            slot=form.cleaned_data["slot"],
            guest=Guest(
                name=form.cleaned_data["name"],
                email=form.cleaned_data["email"],
                timezone=str(zone),
            ),
            answers=answers_form.answers(),
            url_params=_url_params(request),
        )
    except SlotTaken:
        form.add_error("slot", ValidationError(SLOT_TAKEN, code="taken"))
        free = page_free_slots(page)
        form.fields["slot"].choices = slot_choices(free, zone, page.duration_minutes)
    except ValidationError as e:
        _add_service_errors(e, form, answers_form)
    else:
        url = confirmation_url(booking)
        return redirect(embed.embed_url(url) if embedded else url)
    return None


def _url_params(request: HttpRequest) -> dict:
    params = url_params_from_query(request.META.get("QUERY_STRING", ""))
    params.pop(embed.EMBED_PARAM, None)  # how the page was shown, not what the guest brought
    return params


def _add_service_errors(error: ValidationError, form, answers_form) -> None:
    for key, messages in error.message_dict.items():
        target, name = (answers_form, key[8:]) if key.startswith("answers.") else (form, key)
        if name not in target.fields:
            target, name = form, None
        for message in messages:
            target.add_error(name, message)


def confirmation_url(booking) -> str:
    page = booking.page
    return reverse("bookings:booked", args=[page.tenant.slug, page.slug, booking.uid])


@require_GET
def booking_confirmation(request: HttpRequest, tenant_slug: str, page_slug: str, uid):
    booking = booking_get_public(tenant_slug=tenant_slug, page_slug=page_slug, uid=uid)
    page = booking.page
    zone, _ = _zone(page, booking.guest_timezone)
    embedded = embed.embed_requested(request)
    response = render(
        request,
        "bookings/confirmation.html",
        {
            "page": page,
            "tenant": page.tenant,
            "booking": booking,
            "zone": str(zone),
            "starts_at": booking.starts_at.astimezone(zone),
            "ends_at": booking.ends_at.astimezone(zone),
            "ics_url": reverse("bookings:ics", args=[tenant_slug, page_slug, uid]),
            "manage_url": manage_path(booking),
            "embedded": embedded,
        },
    )
    return embed.embed_allow(response, page.tenant) if embedded else response


@require_GET
def booking_ics_download(request: HttpRequest, tenant_slug: str, page_slug: str, uid):
    booking = booking_get_public(tenant_slug=tenant_slug, page_slug=page_slug, uid=uid)
    page = booking.page
    body = booking_ics(booking, page_url=request.build_absolute_uri(page.get_absolute_url()))
    response = HttpResponse(body, content_type="text/calendar; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{page.slug}-{booking.uid}.ics"'
    return response

"""Public booking pages: /<tenant>/<page>/, its confirmation and the .ics download."""

from urllib.parse import urlencode

from django.conf import settings
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop
from django.views.decorators.cache import cache_control
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods

from bookings import embed, page_cache
from bookings.answers import TIMEZONE_CHOICES
from bookings.forms import BookingForm, PageAnswersForm
from bookings.ics import booking_ics
from bookings.manage_links import manage_path
from bookings.models import BookingPage
from bookings.picker import (
    PICKER_PARAMS,
    TZ_COOKIE,
    days_response,
    picker_context,
    request_zone,
    times_response,
    zone_for,
)
from bookings.ratelimits import page_submission_limited, too_many_requests
from bookings.selectors import booking_get_public, page_get_public, page_questions
from bookings.services import SLOT_TAKEN, Guest, SlotTaken, booking_submit
from bookings.url_params import url_params_from_query

SHOW_TIMES = "show_times"  # the no-JS "Update times" button: re-show, do not book
BOT_REFUSED = gettext_noop(
    "Your booking was refused because the form looked automatically filled in. "
    "If you are a person, please reload the page and try again."
)
RATE_LIMITED = gettext_noop(
    "Too many booking attempts from your network. Please wait a few minutes and try again."
)


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
    if request.method == "GET":
        return page_cache.cached_get(
            request,
            tenant_slug=tenant_slug,
            page_slug=page_slug,
            kind="page",
            render=lambda page, marks: _booking_page_shown(request, page, embedded, marks),
            placeholders=True,
            embedded=embedded,
        )
    rows = page_cache.page_rows(tenant_slug=tenant_slug, page_slug=page_slug)
    with translation.override(rows.page.language):
        return _booking_page(request, rows.page, embedded=embedded, rows=rows)


def _booking_page_shown(request, page, embedded, marks) -> HttpResponse:
    with translation.override(page.language):
        return _booking_page(request, page, embedded=embedded, marks=marks)


def _booking_page(
    request: HttpRequest,
    page: BookingPage,
    *,
    embedded: bool,
    marks: page_cache.Marks | None = None,
    rows: page_cache.PageRows | None = None,
) -> HttpResponse:
    """The page in its language (translation active): shown, or the booking made.
    `marks`: render a GET with these placeholders for the per-request values (its
    `changes_at` then says until when the times it shows are bookable). `rows`: the
    page's questions and availability, when read already."""
    questions = rows.questions if rows else page_questions(page)
    posted = request.method == "POST"
    showing_times = posted and SHOW_TIMES in request.POST
    submitting = posted and not showing_times
    if submitting and page_submission_limited(request):
        return too_many_requests(_(RATE_LIMITED), rate=settings.BOOKING_RATE_LIMIT_PER_IP)

    zone, zone_is_default = request_zone(request, page)
    data = request.POST if posted else None
    form = BookingForm(data, zone=zone, quiet=showing_times, label_suffix="")
    answers_form = PageAnswersForm(
        data, questions=questions, prefix="q", quiet=showing_times, label_suffix=""
    )
    if submitting:
        if form.is_bot():
            return HttpResponse(_(BOT_REFUSED), status=400, content_type="text/plain")
        booked = _submit(request, page, form, answers_form, zone, rows, embedded=embedded)
        if booked is not None:
            return booked

    picker = picker_context(request, page)  # after a refused booking: shows what is free now
    context = {
        "page": page,
        "tenant": page.tenant,
        "language": page.language,
        "form": form,
        "answers_form": answers_form,
        "picker": picker,
        "errors": _error_summary(form, answers_form) if submitting else [],
        "zone": str(zone),
        "detect_zone": not posted and zone_is_default,
        "tz_cookie": TZ_COOKIE,
        "show_times": SHOW_TIMES,
        "embedded": embedded,
        **(marks.context() if marks else {}),
    }
    response = render(request, "bookings/page.html", context)
    response.changes_at = picker["changes_at"]
    if embedded:
        embed.embed_allow(response, page.tenant)
    if showing_times:
        response.set_cookie(TZ_COOKIE, str(zone), max_age=365 * 86400, samesite="Lax")
    return response


def _submit(
    request: HttpRequest,
    page: BookingPage,
    form,
    answers_form,
    zone,
    rows: page_cache.PageRows | None,
    *,
    embedded: bool,
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
            questions=list(answers_form.questions.values()),
            availability=rows.availability if rows else None,
        )
    except SlotTaken:
        form.add_error("slot", ValidationError(_(SLOT_TAKEN), code="taken"))
    except ValidationError as e:
        _add_service_errors(e, form, answers_form)
    else:
        url = confirmation_url(booking)
        return redirect(embed.embed_url(url) if embedded else url)
    return None


@require_GET
def booking_days(request: HttpRequest, tenant_slug: str, page_slug: str) -> HttpResponse:
    """GET ?month=YYYY-MM&tz=Zone: the days of the month (in tz, default the page's) that
    have free times, and the months before/after the guest may move to (null: none).
    400 {"error": ...} for a malformed month or an unknown zone."""
    return page_cache.cached_get(
        request,
        tenant_slug=tenant_slug,
        page_slug=page_slug,
        kind="days",
        render=lambda page, marks: days_response(request, page),
    )


@require_GET
def booking_times(request: HttpRequest, tenant_slug: str, page_slug: str) -> HttpResponse:
    """GET ?date=YYYY-MM-DD&tz=Zone: the free times of that day in tz, as
    {"times": [{"slot": UTC ISO to post, "label": "09:00", "end": "09:30"}, ...]}.
    400 {"error": ...} for a malformed date or an unknown zone."""
    return page_cache.cached_get(
        request,
        tenant_slug=tenant_slug,
        page_slug=page_slug,
        kind="times",
        render=lambda page, marks: times_response(request, page),
    )


@require_GET
@cache_control(public=True, max_age=86400)
def time_zones(request: HttpRequest) -> JsonResponse:
    """Every time zone the pages accept, [[name, label], ...]: fetched once by the picker's
    script for its searchable list, instead of ~600 options in every page."""
    return JsonResponse({"zones": [list(choice) for choice in TIMEZONE_CHOICES]})


@require_GET
def zone_chooser(request: HttpRequest, tenant_slug: str, page_slug: str) -> HttpResponse:
    """The list of time zones for a guest without JavaScript: a GET form back to the page
    with ?tz=, keeping the page's other parameters."""
    page = page_get_public(tenant_slug=tenant_slug, page_slug=page_slug)
    zone, _ = zone_for(page, request.GET.get("tz"))
    embedded = embed.embed_requested(request)
    keep = [(k, v) for k, v in request.GET.items() if k != "tz"]
    back = f"{page.get_absolute_url()}?{urlencode([*keep, ('tz', str(zone))])}"
    with translation.override(page.language):
        response = render(
            request,
            "bookings/zone_chooser.html",
            {
                "page": page,
                "tenant": page.tenant,
                "language": page.language,
                "zone": str(zone),
                "zones": TIMEZONE_CHOICES,
                "keep": keep,
                "back_url": back,
                "embedded": embedded,
            },
        )
    return embed.embed_allow(response, page.tenant) if embedded else response


def _url_params(request: HttpRequest) -> dict:
    params = url_params_from_query(request.META.get("QUERY_STRING", ""))
    # How the page was shown, not what the guest brought.
    for name in (embed.EMBED_PARAM, *PICKER_PARAMS):
        params.pop(name, None)
    return params


def _add_service_errors(error: ValidationError, form, answers_form) -> None:
    for key, messages in error.message_dict.items():
        target, name = (answers_form, key[8:]) if key.startswith("answers.") else (form, key)
        if name not in target.fields:
            target, name = form, None
        for message in messages:  # the service's own messages are marked for translation
            target.add_error(name, _(message))


def confirmation_url(booking) -> str:
    page = booking.page
    return reverse("bookings:booked", args=[page.tenant.slug, page.slug, booking.uid])


@require_GET
def booking_confirmation(request: HttpRequest, tenant_slug: str, page_slug: str, uid):
    booking = booking_get_public(tenant_slug=tenant_slug, page_slug=page_slug, uid=uid)
    page = booking.page
    zone, _ = zone_for(page, booking.guest_timezone)
    embedded = embed.embed_requested(request)
    with translation.override(page.language):
        response = render(
            request,
            "bookings/confirmation.html",
            {
                "page": page,
                "tenant": page.tenant,
                "language": page.language,
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

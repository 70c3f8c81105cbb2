"""The booking API for a tenant's own site forms: /api/v1/<tenant>/<page>/..., and
/api/v1/bookings/<uid>/cancel|reschedule for bookings the tenant made through it.

Authentication: `Authorization: Bearer <key>` with one of the tenant's API keys.
Missing or malformed header -> 401; unknown, revoked or another tenant's key -> 403.
Rate-limited per key (429). Answers are validated exactly like the public page form.
"""

import functools
import json
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, JsonResponse
from django.utils.dateparse import parse_datetime
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

from bookings import page_cache
from bookings.models import ApiKey, Booking, BookingChange
from bookings.ratelimits import api_submission_limited, rate_period_seconds, too_many_requests
from bookings.selectors import (
    api_key_find,
    booking_get_for_api,
    page_free_slots,
)
from bookings.services import (
    BookingClosed,
    Guest,
    SlotTaken,
    api_key_mark_used,
    booking_cancel,
    booking_reschedule,
    booking_submit,
)


class ApiError(Exception):
    def __init__(self, status: int, errors: dict[str, list[str]], headers=None):
        super().__init__(errors)
        self.status, self.errors, self.headers = status, errors, headers or {}

    def response(self) -> JsonResponse:
        response = JsonResponse({"errors": self.errors}, status=self.status)
        for name, value in self.headers.items():
            response[name] = value
        return response


def _bearer(request: HttpRequest) -> str:
    """The request's bearer key. Raises ApiError 401 without one."""
    scheme, _, raw_key = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not raw_key.strip():
        raise ApiError(
            401,
            {"auth": ["Send your API key as 'Authorization: Bearer <key>'."]},
            {"WWW-Authenticate": 'Bearer realm="leadsync"'},
        )
    return raw_key.strip()


def _checked(api_key: ApiKey | None, tenant_slug: str | None) -> ApiKey:
    """`api_key` when it is active (and of tenant `tenant_slug`, when given), marked used.
    Raises ApiError 403 for a key that is unknown (None), revoked or of another tenant."""
    if api_key is None or not api_key.is_active:
        raise ApiError(403, {"auth": ["This API key is not valid."]})
    if tenant_slug is not None and api_key.tenant.slug != tenant_slug:
        raise ApiError(403, {"auth": ["This API key is not valid for this tenant."]})
    api_key_mark_used(api_key=api_key)
    return api_key


def _authenticate(request: HttpRequest) -> ApiKey:
    """The request's active API key. Raises ApiError: 401 without a bearer key, 403 for a
    key that is unknown or revoked."""
    return _checked(api_key_find(_bearer(request)), None)


def _page(
    request: HttpRequest, tenant_slug: str, page_slug: str
) -> tuple[ApiKey, page_cache.PageRows]:
    """The request's API key and active page (with its questions and availability).
    Raises ApiError: 401/403 as _authenticate (also for a key of another tenant), then
    404 for no such active page. The key comes with the page's rows (kept in the process
    under the same version, page_cache.api_key_for)."""
    raw_key = _bearer(request)
    try:
        rows = page_cache.page_rows(tenant_slug=tenant_slug, page_slug=page_slug)
    except Http404:
        rows = None
    api_key = _checked(page_cache.api_key_for(raw_key, rows), tenant_slug)
    if rows is None:
        raise ApiError(404, {"page": ["No active booking page here."]})
    return api_key, rows


def _json_body(request: HttpRequest) -> dict[str, Any]:
    try:
        body = json.loads(request.body)
        json.dumps(body, ensure_ascii=False).encode("utf-8")  # no unpaired surrogates
    except (ValueError, UnicodeError):
        raise ApiError(400, {"body": ["Send a JSON object (UTF-8)."]}) from None
    except RecursionError:  # the json module recurses once per level of nesting
        raise ApiError(400, {"body": ["The JSON is nested too deeply."]}) from None
    if not isinstance(body, dict):
        raise ApiError(400, {"body": ["Send a JSON object."]})
    return body


def _slot(value: Any):
    try:
        parsed = parse_datetime(value) if isinstance(value, str) else None
    except ValueError:  # well-formed but impossible, e.g. 2030-02-30T09:00Z
        parsed = None
    if parsed is None or parsed.tzinfo is None:
        message = "Send the slot start as ISO 8601 with an offset, e.g. 2030-01-07T09:00:00Z."
        raise ApiError(400, {"slot": [message]})
    return parsed


def _api_view(view):
    """Turn an ApiError raised by `view` into its JSON response."""

    @functools.wraps(view)
    def wrapped(request, *args, **kwargs):
        try:
            return view(request, *args, **kwargs)
        except ApiError as e:
            return e.response()

    return wrapped


@csrf_exempt
@require_POST
@_api_view
def booking_create(request: HttpRequest, tenant_slug: str, page_slug: str) -> JsonResponse:
    """POST {"slot", "name", "email", "timezone"?, "answers", "url_params"?} -> 201 {"id", ...}.

    400 with {"errors": {field: [messages]}} for invalid input (answers as "answers.<key>"),
    409 when the slot is taken, 429 when the key sends too many.
    """
    api_key, rows = _page(request, tenant_slug, page_slug)
    page = rows.page
    if api_submission_limited(request, key_prefix=api_key.prefix):
        rate = settings.BOOKING_API_RATE_LIMIT_PER_KEY
        return too_many_requests(
            json.dumps({"errors": {"rate": ["Too many requests for this API key."]}}),
            rate=rate,
            content_type="application/json",
        )
    body = _json_body(request)
    try:
        booking = booking_submit(
            page=page,
            slot=_slot(body.get("slot")),
            guest=Guest(
                name=body.get("name", ""),
                email=body.get("email", ""),
                timezone=body.get("timezone", ""),
            ),
            answers=body.get("answers", {}),
            url_params=body.get("url_params", {}),
            actor=BookingChange.Actor.API,
            questions=rows.questions,
            availability=rows.availability,
        )
    except ValidationError as e:
        raise ApiError(400, e.message_dict) from None
    except SlotTaken:
        raise ApiError(409, {"slot": ["This time is already booked."]}) from None
    return JsonResponse(
        {
            "id": booking.pk,
            "uid": str(booking.uid),
            "starts_at": booking.starts_at.isoformat(),
            "ends_at": booking.ends_at.isoformat(),
        },
        status=201,
    )


@require_GET
@_api_view
def slot_list(request: HttpRequest, tenant_slug: str, page_slug: str) -> JsonResponse:
    """GET -> {"slots": [ISO 8601 UTC starts], "duration_minutes", "timezone"}."""
    _, rows = _page(request, tenant_slug, page_slug)
    page = rows.page
    return JsonResponse(
        {
            "slots": [s.isoformat() for s in page_free_slots(page)],
            "duration_minutes": page.duration_minutes,
            "timezone": page.timezone,
        }
    )


def _booking_json(booking: Booking) -> dict[str, Any]:
    return {
        "id": booking.pk,
        "uid": str(booking.uid),
        "starts_at": booking.starts_at.isoformat(),
        "ends_at": booking.ends_at.isoformat(),
        "status": "cancelled" if booking.is_cancelled else "booked",
        "sequence": booking.sequence,
    }


def _api_booking(request: HttpRequest, uid) -> Booking:
    """The key's tenant's booking `uid`, made through the API; 404 for any other (another
    tenant's, or one a guest booked on the page: the API changes only its own)."""
    api_key = _authenticate(request)
    if api_submission_limited(request, key_prefix=api_key.prefix):
        raise ApiError(
            429,
            {"rate": ["Too many requests for this API key."]},
            {"Retry-After": str(rate_period_seconds(settings.BOOKING_API_RATE_LIMIT_PER_KEY))},
        )
    booking = booking_get_for_api(tenant=api_key.tenant, uid=uid)
    if booking is None:
        raise ApiError(404, {"booking": ["No booking with this id was made with your API keys."]})
    return booking


@csrf_exempt
@require_POST
@_api_view
def booking_cancel_view(request: HttpRequest, uid) -> JsonResponse:
    """POST {"reason"?} -> 200 the booking. Cancelling again answers the same (no change);
    409 once the meeting has started or been marked."""
    booking = _api_booking(request, uid)
    body = _json_body(request) if request.body else {}
    reason = body.get("reason", "")
    if not isinstance(reason, str) or len(reason) > 1000:
        raise ApiError(400, {"reason": ["Send the reason as text of at most 1000 characters."]})
    try:
        booking = booking_cancel(booking=booking, actor=BookingChange.Actor.API, reason=reason)
    except BookingClosed as e:
        raise ApiError(409, {"booking": [str(e)]}) from None
    return JsonResponse(_booking_json(booking))


@csrf_exempt
@require_POST
@_api_view
def booking_reschedule_view(request: HttpRequest, uid) -> JsonResponse:
    """POST {"slot": ISO 8601} -> 200 the booking at its new time. 400 for a time the page
    does not offer, 409 when the slot is taken or the meeting closed."""
    booking = _api_booking(request, uid)
    body = _json_body(request)
    slot = _slot(body.get("slot"))
    try:
        booking = booking_reschedule(booking=booking, slot=slot, actor=BookingChange.Actor.API)
    except ValidationError as e:
        raise ApiError(400, e.message_dict) from None
    except SlotTaken:
        raise ApiError(409, {"slot": ["This time is already booked."]}) from None
    except BookingClosed as e:
        raise ApiError(409, {"booking": [str(e)]}) from None
    return JsonResponse(_booking_json(booking))

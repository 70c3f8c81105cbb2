"""POST /api/v1/bookings/<uid>/cancel and /reschedule: only the key's tenant's bookings
made through the API."""

import json
from unittest import mock

import pytest

from bookings.models import Booking, GuestEmail
from bookings.selectors import page_free_slots
from bookings.services import Guest, booking_submit
from tests.factories import ApiKeyFactory, BookingPageFactory

pytestmark = pytest.mark.django_db

SECRET = "lsk_test_0123456789abcdefghijklmnopqrstuvwxyz"
OTHER_SECRET = "lsk_test_other_0123456789abcdefghijklmnopqrstuv"


@pytest.fixture(autouse=True)
def no_broker():
    with mock.patch("leadsync.enqueue.task_send", return_value=True):
        yield


@pytest.fixture
def api_key(tenant_a):
    return ApiKeyFactory(tenant=tenant_a, raw_key=SECRET)


def submit(page, *, actor="api", index=0):
    return booking_submit(
        page=page,
        slot=page_free_slots(page)[index],
        guest=Guest(name="Ann", email="ann@example.com", timezone="UTC"),
        answers={"company": "Acme"} if page.questions.exists() else {},
        url_params={},
        actor=actor,
    )


def post(client, booking, action, data=None, *, key=SECRET, raw=None):
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    payload = raw if raw is not None else json.dumps(data or {})
    return client.post(
        f"/api/v1/bookings/{booking.uid}/{action}",
        payload,
        content_type="application/json",
        headers=headers,
    )


def test_cancel_with_a_reason(client, booking_page, api_key):
    booking = submit(booking_page)
    response = post(client, booking, "cancel", {"reason": "Duplicate"})
    assert response.status_code == 200, response.content
    assert response.json()["status"] == "cancelled" and response.json()["sequence"] == 1
    change = Booking.objects.get().changes.get(kind="cancelled")
    assert (change.actor, change.reason) == ("api", "Duplicate")
    assert GuestEmail.objects.filter(kind="cancelled").count() == 1
    # Again: the same answer, nothing new.
    assert post(client, booking, "cancel").json()["sequence"] == 1
    assert GuestEmail.objects.filter(kind="cancelled").count() == 1


def test_reschedule_to_a_free_slot(client, booking_page, api_key):
    booking = submit(booking_page)
    new = page_free_slots(booking_page)[5]
    response = post(client, booking, "reschedule", {"slot": new.isoformat()})
    assert response.status_code == 200, response.content
    assert response.json()["starts_at"] == new.isoformat()
    booking.refresh_from_db()
    assert booking.starts_at == new and booking.changes.get(kind="rescheduled").actor == "api"


def test_reschedule_errors_use_the_apis_error_shape(client, booking_page, api_key):
    booking = submit(booking_page)
    other = submit(booking_page, index=1)
    taken = post(client, booking, "reschedule", {"slot": other.starts_at.isoformat()})
    assert taken.status_code == 409
    assert taken.json() == {"errors": {"slot": ["This time is already booked."]}}
    naive = post(client, booking, "reschedule", {"slot": "2030-01-07T09:00:00"})
    assert naive.status_code == 400 and "slot" in naive.json()["errors"]
    offhours = post(client, booking, "reschedule", {"slot": "2030-01-07T03:00:00Z"})
    assert offhours.status_code == 400 and "not available" in offhours.json()["errors"]["slot"][0]
    assert post(client, booking, "reschedule", raw="[").status_code == 400
    long = post(client, booking, "cancel", {"reason": "x" * 1001})
    assert long.status_code == 400 and "reason" in long.json()["errors"]
    booking.refresh_from_db()
    assert booking.sequence == 0 and not booking.is_cancelled


def test_a_cancelled_booking_cannot_be_moved(client, booking_page, api_key):
    booking = submit(booking_page)
    post(client, booking, "cancel")
    response = post(
        client, booking, "reschedule", {"slot": page_free_slots(booking_page)[3].isoformat()}
    )
    assert response.status_code == 409
    assert "cancelled" in response.json()["errors"]["booking"][0]


def test_bookings_made_on_the_page_or_by_another_tenant_are_not_found(
    client, booking_page, api_key, tenant_b
):
    by_guest = submit(booking_page, actor="guest")
    assert post(client, by_guest, "cancel").status_code == 404
    other_page = BookingPageFactory(tenant=tenant_b, slug="intro")
    theirs = submit(other_page)
    ApiKeyFactory(tenant=tenant_b, raw_key=OTHER_SECRET)
    response = post(client, theirs, "cancel")
    assert response.status_code == 404
    assert response.json() == {
        "errors": {"booking": ["No booking with this id was made with your API keys."]}
    }
    assert not Booking.objects.filter(cancelled_at__isnull=False).exists()
    # Their own key works on their booking.
    assert post(client, theirs, "cancel", key=OTHER_SECRET).status_code == 200


def test_authentication_is_required(client, booking_page, api_key):
    booking = submit(booking_page)
    missing = post(client, booking, "cancel", key=None)
    assert missing.status_code == 401 and missing["WWW-Authenticate"]
    assert post(client, booking, "cancel", key="lsk_wrong").status_code == 403
    assert client.get(f"/api/v1/bookings/{booking.uid}/cancel").status_code == 405
    assert not Booking.objects.get().is_cancelled


def test_changes_are_rate_limited_per_key(client, booking_page, api_key, settings):
    settings.BOOKING_API_RATE_LIMIT_PER_KEY = "1/m"
    booking = submit(booking_page)
    assert post(client, booking, "reschedule", {"slot": "bad"}).status_code == 400
    response = post(client, booking, "cancel")
    assert response.status_code == 429 and response["Retry-After"] == "60"
    assert not Booking.objects.get().is_cancelled

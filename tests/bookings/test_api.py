"""POST /api/v1/<tenant>/<page>/bookings with a tenant's API key."""

import json

import pytest

from bookings.models import ApiKey, Booking
from bookings.services import api_key_revoke
from tests.factories import ApiKeyFactory, BookingFactory

pytestmark = pytest.mark.django_db

SECRET = "lsk_test_0123456789abcdefghijklmnopqrstuvwxyz"
URL = "/api/v1/acme/intro/bookings"


@pytest.fixture
def api_key(tenant_a):
    return ApiKeyFactory(tenant=tenant_a, raw_key=SECRET)


def body(free_slot, **overrides):
    data = {
        "slot": free_slot.isoformat().replace("+00:00", "Z"),
        "name": "Ann Lee",
        "email": "ann@example.com",
        "answers": {"company": "Acme", "meeting_type": "Support"},
        "url_params": {"utm_source": "partner", "LeadSource": "Web"},
    }
    return {**data, **overrides}


def post(client, data, *, key=SECRET, url=URL, raw=None):
    headers = {"Authorization": f"Bearer {key}"} if key is not None else {}
    payload = raw if raw is not None else json.dumps(data)
    return client.post(url, payload, content_type="application/json", headers=headers)


def test_valid_booking_is_created_with_201_and_its_id(client, booking_page, api_key, free_slot):
    response = post(client, body(free_slot))
    assert response.status_code == 201, response.content
    booking = Booking.objects.get()
    assert response.json()["id"] == booking.pk
    assert response.json()["uid"] == str(booking.uid)
    assert booking.starts_at == free_slot
    assert booking.answers == {"company": "Acme", "meeting_type": "Support"}
    assert booking.url_params == {"utm_source": "partner", "LeadSource": "Web"}
    assert booking.guest_timezone == "Europe/Berlin"
    api_key.refresh_from_db()
    assert api_key.last_used_at is not None


def test_missing_or_malformed_key_is_401(client, booking_page, api_key, free_slot):
    for key in (None, ""):
        response = post(client, body(free_slot), key=key)
        assert response.status_code == 401
        assert response["WWW-Authenticate"].startswith("Bearer")
        assert "auth" in response.json()["errors"]
    basic = client.post(
        URL, "{}", content_type="application/json", headers={"Authorization": "Basic abc"}
    )
    assert basic.status_code == 401
    assert not Booking.objects.exists()


def test_wrong_revoked_or_other_tenants_key_is_403(
    client, booking_page, api_key, tenant_b, free_slot
):
    ApiKeyFactory(tenant=tenant_b, raw_key="lsk_test_other_tenant_key")
    assert post(client, body(free_slot), key=SECRET + "x").status_code == 403
    assert post(client, body(free_slot), key="lsk_test_other_tenant_key").status_code == 403
    api_key_revoke(api_key=api_key)
    assert post(client, body(free_slot)).status_code == 403
    assert not Booking.objects.exists()


def test_invalid_answers_are_400_with_field_errors(client, booking_page, api_key, free_slot):
    data = body(free_slot, email="nope", answers={"meeting_type": "Lunch", "typo": 1})
    response = post(client, data)
    assert response.status_code == 400
    errors = response.json()["errors"]
    assert errors["email"] == ["Enter a valid email address."]
    assert errors["answers.company"] == ["This field is required."]
    assert "Select a valid choice" in errors["answers.meeting_type"][0]
    assert errors["answers"] == ["Unknown question: typo."]
    assert not Booking.objects.exists()


@pytest.mark.parametrize("slot", [None, "tomorrow", "2030-01-07T09:00:00", 12])
def test_missing_or_naive_slot_is_400(client, booking_page, api_key, free_slot, slot):
    response = post(client, body(free_slot, slot=slot))
    assert response.status_code == 400
    assert "slot" in response.json()["errors"]


def test_slot_outside_availability_is_400(client, booking_page, api_key, free_slot):
    response = post(client, body(free_slot, slot="2001-01-01T09:00:00Z"))
    assert response.status_code == 400
    assert list(response.json()["errors"]) == ["slot"]


@pytest.mark.parametrize("raw", ["not json", "[1, 2]", '{"name": "\\ud800"}'])
def test_body_that_is_not_a_json_object_is_400(client, booking_page, api_key, raw):
    response = post(client, None, raw=raw)
    assert response.status_code == 400
    assert "body" in response.json()["errors"]


def test_slot_taken_is_409(client, booking_page, api_key, free_slot):
    BookingFactory(page=booking_page, starts_at=free_slot)
    response = post(client, body(free_slot))
    assert response.status_code == 409
    assert "slot" in response.json()["errors"]
    assert Booking.objects.count() == 1


def test_unknown_page_is_404_after_authentication(client, booking_page, api_key, free_slot):
    response = post(client, body(free_slot), url="/api/v1/acme/nope/bookings")
    assert response.status_code == 404
    assert (
        post(client, body(free_slot), url="/api/v1/acme/nope/bookings", key="x").status_code == 403
    )


def test_api_is_csrf_exempt(booking_page, api_key, free_slot):
    from django.test import Client

    response = post(Client(enforce_csrf_checks=True), body(free_slot))
    assert response.status_code == 201


def test_api_is_rate_limited_per_key(client, booking_page, api_key, tenant_a, free_slot, settings):
    settings.BOOKING_API_RATE_LIMIT_PER_KEY = "2/m"
    bad = body(free_slot, email="nope")
    assert [post(client, bad).status_code for _ in range(2)] == [400, 400]
    limited = post(client, body(free_slot))
    assert limited.status_code == 429
    assert limited["Retry-After"] == "60"
    assert "rate" in limited.json()["errors"]
    ApiKeyFactory(tenant=tenant_a, raw_key="lsk_test_second_key_of_acme")
    assert post(client, body(free_slot), key="lsk_test_second_key_of_acme").status_code == 201


def test_oversized_url_params_do_not_block_the_booking(client, booking_page, api_key, free_slot):
    params = {f"k{n}": n for n in range(200)} | {"nested": {"a": 1}, "flag": True}
    response = post(client, body(free_slot, url_params=params))
    assert response.status_code == 201
    stored = Booking.objects.get().url_params
    assert len(stored) == 50 and stored["k0"] == "0"


def test_slots_endpoint_lists_free_slots(client, booking_page, api_key, free_slot):
    response = client.get("/api/v1/acme/intro/slots", headers={"Authorization": f"Bearer {SECRET}"})
    assert response.status_code == 200
    assert response.json()["slots"][0] == free_slot.isoformat()
    assert client.get("/api/v1/acme/intro/slots").status_code == 401


def test_the_key_secret_is_never_stored(api_key):
    assert SECRET not in {v for v in ApiKey.objects.values_list("prefix", "key_hash")[0]}

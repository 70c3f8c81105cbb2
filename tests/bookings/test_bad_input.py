"""Hostile or odd input gets a clear refusal, never a server error, and loses nothing."""

import datetime
import itertools
import json

import pytest

from bookings.models import Booking, Question
from bookings.selectors import page_availability, page_free_slots
from bookings.slots import slots_in_window
from tests.bookings.test_api import SECRET, body, post
from tests.factories import ApiKeyFactory, BookingFactory, QuestionFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def api_key(tenant_a):
    return ApiKeyFactory(tenant=tenant_a, raw_key=SECRET)


@pytest.mark.parametrize("slot", ["2030-02-30T09:00:00Z", "2030-01-07T09:00:00+99:00"])
def test_impossible_slot_time_is_refused_on_the_page_and_the_api(
    client, booking_page, api_key, free_slot, slot
):
    page_response = client.post(
        "/acme/intro/", {"slot": slot, "name": "Ann", "email": "ann@example.com", "company": "X"}
    )
    api_response = post(client, body(free_slot, slot=slot))

    assert page_response.status_code == 200  # the form again, with the slot error
    assert "slot" in page_response.context["form"].errors
    assert api_response.status_code == 400
    assert "slot" in api_response.json()["errors"]
    assert not Booking.objects.exists()


@pytest.mark.parametrize(
    ("kind", "extra"),
    [
        (Question.Kind.TEXT, {}),
        (Question.Kind.TEXTAREA, {}),
        (Question.Kind.EMAIL, {}),
        (Question.Kind.PHONE, {}),
        (Question.Kind.NUMBER, {}),
        (Question.Kind.DATE, {}),
        (Question.Kind.CHECKBOX, {}),
        (Question.Kind.CHOICE, {"choices": ["A", "B"]}),
        (Question.Kind.MULTICHOICE, {"choices": ["A", "B"]}),
    ],
)
@pytest.mark.parametrize("value", [20300101, ["2030-01-01"], {"a": 1}, 1.5, True])
def test_api_answers_of_any_json_type_never_crash(
    client, booking_page, api_key, free_slot, kind, extra, value
):
    QuestionFactory(page=booking_page, key="odd", kind=kind, **extra)
    answers = {"company": "Acme", "odd": value}

    response = post(client, body(free_slot, answers=answers))

    assert response.status_code in (201, 400), response.content
    if response.status_code == 400:
        assert "answers.odd" in response.json()["errors"]


def test_overlong_valid_email_is_refused_not_lost(client, booking_page, api_key, free_slot):
    email = f"{'a' * 64}@{'b' * 63}.{'c' * 63}.{'d' * 63}.example"  # valid, > 254 chars
    assert len(email) > 254

    api_response = post(client, body(free_slot, email=email))

    assert api_response.status_code == 400
    assert "email" in api_response.json()["errors"]
    assert not Booking.objects.exists()


def test_free_slots_match_a_brute_force_overlap_check(booking_page):
    """The linear sweep agrees with checking every slot against every booking, also with
    overlapping bookings left behind by a change of duration."""
    now = datetime.datetime.now(datetime.UTC)
    slots = slots_in_window(page_availability(booking_page, now=now), now)
    step = datetime.timedelta(minutes=booking_page.duration_minutes)
    for start, minutes in itertools.islice(zip(slots[3::7], itertools.cycle([30, 90, 45])), 20):
        BookingFactory(
            page=booking_page, starts_at=start, ends_at=start + datetime.timedelta(minutes=minutes)
        )
    busy = list(Booking.objects.values_list("starts_at", "ends_at"))

    expected = [s for s in slots if not any(b0 < s + step and b1 > s for b0, b1 in busy)]

    assert page_free_slots(booking_page, now=now) == expected
    assert len(expected) < len(slots)


@pytest.mark.parametrize(
    "raw",
    [
        "[" * 100_000,  # too deep for json.loads
        '{"answers": ' + "[" * 5_000 + "]" * 5_000 + "}",  # loads, too deep to re-encode
    ],
    ids=["unparseable", "parses"],
)
def test_deeply_nested_json_body_is_a_400_not_a_crash(client, booking_page, api_key, raw):
    response = post(client, None, raw=raw)

    assert response.status_code == 400
    assert response.json() == {"errors": {"body": ["The JSON is nested too deeply."]}}
    assert not Booking.objects.exists()


def test_nested_answer_just_within_the_parser_limit_is_refused_as_an_answer(
    client, booking_page, api_key, free_slot
):
    nested = json.loads("[" * 500 + "]" * 500)

    response = post(client, body(free_slot, answers={"company": nested}))

    assert response.status_code == 400
    assert "answers.company" in response.json()["errors"]

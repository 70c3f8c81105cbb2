"""booking_submit, booking_cancel and the API key services."""

import datetime

import pytest
from django.core.cache import caches
from django.core.exceptions import ValidationError
from django.db import transaction

from bookings import guest_emails, page_cache, services
from bookings.models import ApiKey, Booking
from bookings.selectors import api_key_find, page_free_slots
from bookings.services import Guest, SlotTaken, booking_cancel, booking_submit
from bookings.signals import booking_submitted
from leadsync import enqueue
from tests.factories import BookingPageFactory

pytestmark = pytest.mark.django_db

ANN = Guest(name="Ann Lee", email="ann@example.com", timezone="Europe/Paris")


def submit(page, slot, **overrides):
    kwargs = {
        "page": page,
        "slot": slot,
        "guest": ANN,
        "answers": {"company": "Acme", "meeting_type": "Demo"},
        "url_params": {"utm_source": "ads", "LeadSource": "Web"},
    }
    return booking_submit(**{**kwargs, **overrides})


def test_submit_saves_the_booking_with_typed_answers_and_url_params(booking_page, free_slot):
    booking = submit(booking_page, free_slot)
    booking.refresh_from_db()
    assert booking.starts_at == free_slot
    assert booking.ends_at == free_slot + datetime.timedelta(minutes=30)
    assert (booking.guest_name, booking.guest_email) == ("Ann Lee", "ann@example.com")
    assert booking.guest_timezone == "Europe/Paris"
    assert booking.answers == {"company": "Acme", "meeting_type": "Demo"}
    assert booking.url_params == {"utm_source": "ads", "LeadSource": "Web"}
    assert booking.uid and booking.cancelled_at is None


def test_submit_sends_booking_submitted_inside_its_transaction(booking_page, free_slot):
    seen = []

    def receiver(sender, booking, **kwargs):
        seen.append((booking.pk, transaction.get_connection().in_atomic_block))

    booking_submitted.connect(receiver, dispatch_uid="test-receiver")
    try:
        booking = submit(booking_page, free_slot)
    finally:
        booking_submitted.disconnect(dispatch_uid="test-receiver")
    assert seen == [(booking.pk, True)]


def test_a_failing_receiver_rolls_the_booking_back(booking_page, free_slot):
    def receiver(sender, booking, **kwargs):
        raise RuntimeError("outbox is broken")

    booking_submitted.connect(receiver, dispatch_uid="failing-receiver")
    try:
        with pytest.raises(RuntimeError):
            submit(booking_page, free_slot)
    finally:
        booking_submitted.disconnect(dispatch_uid="failing-receiver")
    assert not Booking.objects.exists()


def test_invalid_guest_and_answers_are_reported_per_field_and_nothing_saved(
    booking_page, free_slot
):
    with pytest.raises(ValidationError) as raised:
        submit(
            booking_page,
            free_slot,
            guest=Guest(name="", email="nope"),
            answers={"meeting_type": "Lunch"},
        )
    assert set(raised.value.message_dict) == {
        "name",
        "email",
        "answers.company",
        "answers.meeting_type",
    }
    assert not Booking.objects.exists()


def test_double_booking_a_slot_is_refused(booking_page, free_slot):
    submit(booking_page, free_slot)
    with pytest.raises(SlotTaken):
        submit(booking_page, free_slot, guest=Guest(name="Bob", email="bob@example.com"))
    assert Booking.objects.count() == 1


def test_the_database_refuses_a_second_active_booking_of_a_slot(
    booking_page, free_slot, monkeypatch
):
    """Even when the check under the lock is fooled (as in a race), the partial unique index
    refuses the second booking of a slot at its insert, and the guest hears it is taken."""
    submit(booking_page, free_slot)
    real_status = services.page_slot_status

    def status(*args, **kwargs):  # the check under the lock is fooled; the re-check is not
        return "free" if kwargs.get("exclude") is not None else real_status(*args, **kwargs)

    monkeypatch.setattr(services, "page_slot_status", status)
    # no lock: only the page's state, as the lock's statement returns it
    monkeypatch.setattr(services, "_availability_lock", lambda page: (page.host_id, page.active))
    with pytest.raises(SlotTaken):
        submit(booking_page, free_slot, guest=Guest(name="Bob", email="bob@example.com"))
    assert Booking.objects.count() == 1


def test_cancel_frees_the_slot(booking_page, free_slot):
    booking = submit(booking_page, free_slot)
    assert free_slot not in page_free_slots(booking_page)
    cancelled = booking_cancel(booking=booking)
    assert cancelled.cancelled_at is not None
    assert free_slot in page_free_slots(booking_page)
    again = submit(booking_page, free_slot, guest=Guest(name="Bob", email="bob@example.com"))
    assert again.pk != booking.pk


def test_cancelling_twice_keeps_the_first_time(booking_page, free_slot):
    booking = booking_cancel(booking=submit(booking_page, free_slot))
    first = booking.cancelled_at
    assert booking_cancel(booking=booking).cancelled_at == first


def test_slots_outside_availability_are_refused(booking_page, free_slot):
    off_grid = free_slot + datetime.timedelta(minutes=10)
    past = free_slot - datetime.timedelta(days=30)
    too_far = free_slot + datetime.timedelta(days=booking_page.horizon_days + 1)
    for slot in (off_grid, past, too_far):
        with pytest.raises(ValidationError) as raised:
            submit(booking_page, slot)
        assert list(raised.value.message_dict) == ["slot"]


def test_inactive_page_takes_no_bookings(booking_page, free_slot):
    booking_page.active = False
    booking_page.save()
    with pytest.raises(ValidationError):
        submit(booking_page, free_slot)


def test_overlapping_booking_after_a_duration_change_is_refused(tenant_a):
    page = BookingPageFactory(tenant=tenant_a, duration_minutes=60)
    first = page_free_slots(page)[0]
    booking_submit(page=page, slot=first, guest=ANN, answers={}, url_params={})
    page.duration_minutes = 30
    page.save()
    half_past = first + datetime.timedelta(minutes=30)
    assert half_past not in page_free_slots(page)
    with pytest.raises(SlotTaken):
        booking_submit(page=page, slot=half_past, guest=ANN, answers={}, url_params={})


def test_oversized_url_params_are_limited_not_refused(booking_page, free_slot):
    params = {f"k{n}": "v" * 5000 for n in range(80)}
    params["x" * 500] = "dropped"
    booking = submit(booking_page, free_slot, url_params=params)
    booking.refresh_from_db()
    assert len(booking.url_params) == 50
    assert all(len(v) == 1000 for v in booking.url_params.values())


def test_api_key_is_stored_hashed_and_found_by_its_secret(tenant_a):
    api_key, secret = services.api_key_create(tenant=tenant_a, name="website")
    stored = ApiKey.objects.get()
    assert secret.startswith(stored.prefix + "_")
    assert secret not in (stored.key_hash, stored.prefix)
    assert len(secret) > 40
    assert api_key_find(secret) == api_key
    assert api_key_find(secret + "x") is None


def test_revoked_api_key_is_inactive(tenant_a):
    api_key, _ = services.api_key_create(tenant=tenant_a, name="website")
    assert services.api_key_revoke(api_key=api_key).is_active is False


@pytest.mark.django_db(transaction=True)
def test_the_cache_writes_of_a_booking_go_after_its_commit_in_one_round_trip(
    booking_page, free_slot, redis_default_cache, redis_round_trips, monkeypatch
):
    """Its page's new "slots" version and the "mail drain queued" marker: one pipeline,
    after the commit; a booking refused (the slot taken, rolled back) writes nothing."""
    tasks = []
    monkeypatch.setattr(enqueue, "task_send", lambda name, *args, **kw: tasks.append(name) or True)
    before = page_cache.page_versions(booking_page)  # (connects the default cache)
    caches["coordination"].get("warm")  # and the coordination cache
    redis_round_trips.clear()
    submit(booking_page, free_slot)
    assert [in_transaction for in_transaction, _ in redis_round_trips] == [False]
    assert tasks == [guest_emails.DRAIN_TASK]
    assert page_cache.page_versions(booking_page) != before  # the times render anew
    redis_round_trips.clear()
    with pytest.raises(SlotTaken):
        submit(booking_page, free_slot, guest=Guest(name="Bo", email="bo@example.com"))
    assert redis_round_trips == [] and tasks == [guest_emails.DRAIN_TASK]

"""A booking's life after it is made: reschedule, cancel, outcome — and its history."""

import datetime

import pytest
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from bookings.models import Booking, BookingChange
from bookings.selectors import booking_history, page_free_slots
from bookings.services import (
    BookingClosed,
    Guest,
    SlotTaken,
    booking_cancel,
    booking_outcome_mark,
    booking_reschedule,
    booking_submit,
)
from bookings.signals import booking_changed

pytestmark = pytest.mark.django_db

Kind, Actor = BookingChange.Kind, BookingChange.Actor


def submit(page, slot, email="ann@example.com", **kwargs):
    return booking_submit(
        page=page,
        slot=slot,
        guest=Guest(name="Ann Lee", email=email),
        answers={"company": "Acme"},
        url_params={},
        **kwargs,
    )


@pytest.fixture
def changes_seen():
    seen = []

    def receiver(sender, change, **kwargs):
        seen.append((change.kind, transaction.get_connection().in_atomic_block))

    booking_changed.connect(receiver, dispatch_uid="test-lifecycle")
    yield seen
    booking_changed.disconnect(dispatch_uid="test-lifecycle")


def _started(booking: Booking) -> Booking:
    """The booking moved into the past, as if its meeting had begun."""
    starts = timezone.now() - datetime.timedelta(minutes=10)
    Booking.objects.filter(pk=booking.pk).update(
        starts_at=starts, ends_at=starts + datetime.timedelta(minutes=30)
    )
    booking.refresh_from_db()
    return booking


def test_submit_starts_the_history_with_who_booked(booking_page, free_slot):
    booking = submit(booking_page, free_slot, actor=Actor.API)
    [booked] = booking_history(booking)
    assert (booked.kind, booked.actor, booked.starts_at, booked.sequence) == (
        Kind.BOOKED,
        Actor.API,
        free_slot,
        0,
    )


def test_reschedule_moves_frees_the_old_time_and_bumps_the_sequence(
    booking_page, free_slot, admin_a, changes_seen
):
    booking = submit(booking_page, free_slot)
    later = page_free_slots(booking_page)[3]
    moved = booking_reschedule(booking=booking, slot=later, actor=Actor.STAFF, user=admin_a)
    moved.refresh_from_db()
    assert (moved.starts_at, moved.sequence) == (later, 1)
    assert moved.ends_at - moved.starts_at == datetime.timedelta(minutes=30)
    free = page_free_slots(booking_page)
    assert free_slot in free and later not in free
    last = booking_history(moved)[-1]
    assert (last.kind, last.user, last.previous_starts_at, last.starts_at) == (
        Kind.RESCHEDULED,
        admin_a,
        free_slot,
        later,
    )
    assert changes_seen == [(Kind.RESCHEDULED, True)]


def test_reschedule_onto_a_taken_or_unoffered_time_changes_nothing(booking_page, free_slot):
    booking = submit(booking_page, free_slot)
    taken = page_free_slots(booking_page)[2]
    submit(booking_page, taken, email="bob@example.com")
    with pytest.raises(SlotTaken):
        booking_reschedule(booking=booking, slot=taken, actor=Actor.GUEST)
    for slot in (free_slot + datetime.timedelta(minutes=7), free_slot):
        with pytest.raises(ValidationError) as raised:
            booking_reschedule(booking=booking, slot=slot, actor=Actor.GUEST)
        assert list(raised.value.message_dict) == ["slot"]
    booking.refresh_from_db()
    assert (booking.starts_at, booking.sequence) == (free_slot, 0)
    assert [c.kind for c in booking_history(booking)] == [Kind.BOOKED]


def test_cancel_records_who_and_why_once(booking_page, free_slot, changes_seen):
    booking = submit(booking_page, free_slot)
    cancelled = booking_cancel(booking=booking, actor=Actor.GUEST, reason="  Found a vendor ")
    again = booking_cancel(booking=booking, actor=Actor.STAFF, reason="duplicate")
    assert again.cancelled_at == cancelled.cancelled_at and again.sequence == 1
    last = booking_history(booking)[-1]
    assert (last.kind, last.actor, last.reason, last.sequence) == (
        Kind.CANCELLED,
        Actor.GUEST,
        "Found a vendor",
        1,
    )
    assert changes_seen == [(Kind.CANCELLED, True)]
    assert free_slot in page_free_slots(booking_page)


def test_a_cancelled_or_started_meeting_cannot_be_moved(booking_page, free_slot):
    later = page_free_slots(booking_page)[4]
    cancelled = booking_cancel(booking=submit(booking_page, free_slot), actor=Actor.GUEST)
    with pytest.raises(BookingClosed, match="cancelled"):
        booking_reschedule(booking=cancelled, slot=later, actor=Actor.GUEST)
    started = _started(submit(booking_page, page_free_slots(booking_page)[1], email="b@x.org"))
    with pytest.raises(BookingClosed, match="already started"):
        booking_reschedule(booking=started, slot=later, actor=Actor.GUEST)
    with pytest.raises(BookingClosed, match="already started"):
        booking_cancel(booking=started, actor=Actor.GUEST)


def test_outcome_only_once_the_meeting_started(booking_page, free_slot, admin_a, changes_seen):
    booking = submit(booking_page, free_slot)
    with pytest.raises(BookingClosed, match="not started yet"):
        booking_outcome_mark(booking=booking, outcome="no_show", user=admin_a)
    booking = _started(booking)
    marked = booking_outcome_mark(booking=booking, outcome="no_show", user=admin_a)
    assert marked.outcome == "no_show"
    booking_outcome_mark(booking=booking, outcome="no_show", user=admin_a)  # no second row
    booking_outcome_mark(booking=booking, outcome="completed", user=admin_a)
    assert [c.kind for c in booking_history(booking)] == [
        Kind.BOOKED,
        Kind.NO_SHOW,
        Kind.COMPLETED,
    ]
    assert changes_seen == [(Kind.NO_SHOW, True), (Kind.COMPLETED, True)]
    with pytest.raises(BookingClosed, match="marked completed"):
        booking_cancel(booking=booking, actor=Actor.STAFF)
    with pytest.raises(ValueError):
        booking_outcome_mark(booking=booking, outcome="late", user=admin_a)


def test_a_failing_receiver_rolls_the_change_back(booking_page, free_slot):
    booking = submit(booking_page, free_slot)

    def receiver(sender, change, **kwargs):
        raise RuntimeError("outbox is broken")

    booking_changed.connect(receiver, dispatch_uid="test-broken")
    try:
        with pytest.raises(RuntimeError):
            booking_cancel(booking=booking, actor=Actor.GUEST)
    finally:
        booking_changed.disconnect(dispatch_uid="test-broken")
    booking.refresh_from_db()
    assert booking.cancelled_at is None and booking.sequence == 0
    assert [c.kind for c in booking_history(booking)] == [Kind.BOOKED]

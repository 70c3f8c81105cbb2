"""The availability rules through the selectors and the booking services: what a guest is
offered and what `booking_submit` / `booking_reschedule` accept are the same thing."""

import datetime
import zoneinfo

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from bookings.models import BookingChange
from bookings.selectors import page_free_slots, page_slot_status
from bookings.services import (
    Guest,
    SlotTaken,
    booking_cancel,
    booking_reschedule,
    booking_submit,
)
from tests.factories import BookingPageFactory, DateOverrideFactory, MembershipFactory

pytestmark = pytest.mark.django_db

BERLIN = zoneinfo.ZoneInfo("Europe/Berlin")
HALF_HOUR = datetime.timedelta(minutes=30)


def book(page, slot, n: int = 0):
    return booking_submit(
        page=page,
        slot=slot,
        guest=Guest(name=f"Guest {n}", email=f"guest{n}@example.com"),
        answers={},
        url_params={},
    )


def tomorrow() -> datetime.date:
    return timezone.now().astimezone(BERLIN).date() + datetime.timedelta(days=1)


def at(day: datetime.date, hhmm: str) -> datetime.datetime:
    local = datetime.datetime.combine(day, datetime.time.fromisoformat(hhmm), tzinfo=BERLIN)
    return local.astimezone(datetime.UTC)


@pytest.fixture
def host(tenant_a):
    return MembershipFactory(tenant=tenant_a).user


def test_the_hosts_meeting_on_one_page_blocks_the_time_on_their_other_pages(tenant_a, host):
    intro, demo = (BookingPageFactory(tenant=tenant_a, host=host) for _ in range(2))
    other_host = BookingPageFactory(tenant=tenant_a, host=MembershipFactory(tenant=tenant_a).user)
    slot = at(tomorrow(), "10:00")
    book(intro, slot)
    assert slot not in page_free_slots(demo)
    assert page_slot_status(demo, slot) == "taken"
    with pytest.raises(SlotTaken):
        book(demo, slot, 1)
    assert slot in page_free_slots(other_host)  # another host's time is their own
    book(other_host, slot, 2)


def test_pages_without_a_host_are_blocked_by_their_own_bookings_only(tenant_a):
    one, two = BookingPageFactory(tenant=tenant_a), BookingPageFactory(tenant=tenant_a)
    slot = at(tomorrow(), "10:00")
    book(one, slot)
    assert slot not in page_free_slots(one)
    assert slot in page_free_slots(two)
    book(two, slot, 1)


def test_buffers_are_kept_around_the_hosts_meetings(tenant_a, host):
    page = BookingPageFactory(
        tenant=tenant_a, host=host, buffer_before_minutes=30, buffer_after_minutes=30
    )
    day = tomorrow()
    book(page, at(day, "12:00"))
    free = page_free_slots(page)
    assert at(day, "11:30") not in free  # would end right before the meeting
    assert at(day, "12:30") not in free  # would start right after it
    assert at(day, "11:00") in free and at(day, "13:00") in free
    with pytest.raises(SlotTaken):
        book(page, at(day, "12:30"), 1)
    book(page, at(day, "13:00"), 2)


def test_buffers_apply_to_the_hosts_meetings_on_other_pages(tenant_a, host):
    buffered = BookingPageFactory(tenant=tenant_a, host=host, buffer_after_minutes=30)
    plain = BookingPageFactory(tenant=tenant_a, host=host)
    day = tomorrow()
    book(plain, at(day, "12:00"))
    assert page_slot_status(buffered, at(day, "12:30")) == "taken"
    assert page_slot_status(buffered, at(day, "13:00")) == "free"


def test_the_daily_cap_closes_the_day_once_reached(tenant_a):
    page = BookingPageFactory(tenant=tenant_a, daily_cap=2)
    day = tomorrow()
    book(page, at(day, "09:00"))
    assert at(day, "15:00") in page_free_slots(page)
    book(page, at(day, "10:00"), 1)
    free = page_free_slots(page)
    assert not [s for s in free if s.astimezone(BERLIN).date() == day]
    assert at(day + datetime.timedelta(days=1), "09:00") in free
    with pytest.raises(SlotTaken):
        book(page, at(day, "15:00"), 2)


def test_a_cancelled_booking_no_longer_counts_towards_the_cap(tenant_a):
    page = BookingPageFactory(tenant=tenant_a, daily_cap=1)
    day = tomorrow()
    booking_cancel(booking=book(page, at(day, "09:00")))
    book(page, at(day, "15:00"), 1)


def test_a_day_off_refuses_bookings_as_unavailable(tenant_a):
    page = BookingPageFactory(tenant=tenant_a)
    day = tomorrow()
    DateOverrideFactory(page=page, date=day)
    assert page_slot_status(page, at(day, "10:00")) == "unavailable"
    with pytest.raises(ValidationError) as raised:
        book(page, at(day, "10:00"))
    assert list(raised.value.message_dict) == ["slot"]


def test_other_hours_on_a_date_are_bookable_and_the_usual_ones_not(tenant_a):
    page = BookingPageFactory(tenant=tenant_a)
    day = tomorrow()
    DateOverrideFactory(page=page, date=day, start=datetime.time(18), end=datetime.time(19))
    assert [s for s in page_free_slots(page) if s.astimezone(BERLIN).date() == day] == [
        at(day, "18:00"),
        at(day, "18:30"),
    ]
    with pytest.raises(ValidationError):
        book(page, at(day, "10:00"))
    assert book(page, at(day, "18:30")).starts_at == at(day, "18:30")


def test_several_windows_a_day_are_bookable_and_the_gap_not(tenant_a):
    day = tomorrow()
    spans = [(datetime.time(9), datetime.time(12)), (datetime.time(13), datetime.time(17))]
    page = BookingPageFactory(tenant=tenant_a, windows=[(day.weekday(), *span) for span in spans])
    assert page_slot_status(page, at(day, "12:30")) == "unavailable"
    book(page, at(day, "11:30"))
    book(page, at(day, "13:00"), 1)


def test_minimum_notice_and_horizon_are_checked_when_booking(tenant_a):
    page = BookingPageFactory(tenant=tenant_a, min_notice_minutes=48 * 60, horizon_days=5)
    assert page_slot_status(page, at(tomorrow(), "10:00")) == "unavailable"
    far = at(tomorrow() + datetime.timedelta(days=6), "10:00")
    assert page_slot_status(page, far) == "unavailable"
    assert page_slot_status(page, at(tomorrow() + datetime.timedelta(days=3), "10:00")) == "free"


def test_errors_with_a_taken_slot_name_the_slot_too(tenant_a):
    page = BookingPageFactory(tenant=tenant_a)
    slot = at(tomorrow(), "10:00")
    book(page, slot)
    with pytest.raises(ValidationError) as raised:
        booking_submit(
            page=page, slot=slot, guest=Guest(name="", email="x"), answers={}, url_params={}
        )
    assert {"slot", "name", "email"} <= set(raised.value.message_dict)
    assert "just booked" in raised.value.message_dict["slot"][0]


def test_a_reschedule_into_its_own_buffer_and_day_is_allowed(tenant_a, host):
    page = BookingPageFactory(tenant=tenant_a, host=host, buffer_after_minutes=60, daily_cap=1)
    day = tomorrow()
    booking = book(page, at(day, "10:00"))
    moved = booking_reschedule(booking=booking, slot=at(day, "10:30"), actor="guest")
    assert moved.starts_at == at(day, "10:30")
    assert moved.changes.last().kind == BookingChange.Kind.RESCHEDULED


def test_a_reschedule_onto_the_hosts_other_meeting_or_its_buffer_is_refused(tenant_a, host):
    page = BookingPageFactory(tenant=tenant_a, host=host, buffer_after_minutes=30)
    other = BookingPageFactory(tenant=tenant_a, host=host)
    day = tomorrow()
    booking = book(page, at(day, "09:00"))
    book(other, at(day, "14:00"), 1)
    for slot in (at(day, "14:00"), at(day, "14:30")):
        with pytest.raises(SlotTaken):
            booking_reschedule(booking=booking, slot=slot)
    with pytest.raises(ValidationError):
        booking_reschedule(booking=booking, slot=at(day, "20:00"))  # outside the hours
    assert booking_reschedule(booking=booking, slot=at(day, "15:00")).starts_at == at(day, "15:00")


def test_a_reschedule_into_a_full_day_is_refused(tenant_a):
    page = BookingPageFactory(tenant=tenant_a, daily_cap=1)
    day = tomorrow()
    booking = book(page, at(day, "09:00"))
    book(page, at(day + datetime.timedelta(days=1), "09:00"), 1)
    with pytest.raises(SlotTaken):
        booking_reschedule(booking=booking, slot=at(day + datetime.timedelta(days=1), "11:00"))


def test_free_slots_leave_out_the_booking_being_moved(tenant_a):
    page = BookingPageFactory(tenant=tenant_a, buffer_after_minutes=30)
    day = tomorrow()
    booking = book(page, at(day, "10:00"))
    assert at(day, "10:30") not in page_free_slots(page)
    assert at(day, "10:30") in page_free_slots(page, exclude=booking)
    assert page_slot_status(page, at(day, "10:00"), exclude=booking) == "free"

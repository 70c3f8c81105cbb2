"""The booking's .ics (bookings.ics), read back with the icalendar parser."""

import icalendar
import pytest

from bookings.ics import booking_ics
from bookings.selectors import page_free_slots
from bookings.services import booking_cancel, booking_reschedule
from tests.factories import BookingFactory, UserFactory

pytestmark = pytest.mark.django_db


def event_of(ics: bytes):
    calendar = icalendar.Calendar.from_ical(ics)
    [event] = calendar.walk("VEVENT")
    return calendar, event


def test_an_active_booking_is_a_request_from_the_host_to_the_guest(booking_page):
    booking_page.host = UserFactory(email="rep@acme.example", first_name="Rita", last_name="Rep")
    booking_page.save()
    booking = BookingFactory(page=booking_page, guest_name="Ann Lee", guest_email="ann@example.com")
    calendar, event = event_of(booking_ics(booking, page_url="https://x/acme/intro/"))
    assert str(calendar["method"]) == "REQUEST"
    assert str(event["uid"]) == f"{booking.uid}@leadsync"
    assert event["sequence"] == 0
    assert str(event["status"]) == "CONFIRMED"
    assert event.decoded("dtstart") == booking.starts_at
    assert event.decoded("dtend") == booking.ends_at
    assert str(event["organizer"]) == "mailto:rep@acme.example"
    assert event["organizer"].params["CN"] == "Rita Rep"
    assert str(event["attendee"]) == "mailto:ann@example.com"
    assert event["attendee"].params["CN"] == "Ann Lee"


def test_without_a_host_the_tenant_organizes_at_our_address(booking_page, settings):
    settings.DEFAULT_FROM_EMAIL = "Bookings <bookings@leadsync.example>"
    booking = BookingFactory(page=booking_page)
    _, event = event_of(booking_ics(booking, page_url="https://x/"))
    assert str(event["organizer"]) == "mailto:bookings@leadsync.example"
    assert event["organizer"].params["CN"] == booking_page.tenant.name


def test_each_change_keeps_the_uid_and_raises_the_sequence(booking_page, free_slot):
    booking = BookingFactory(page=booking_page, starts_at=free_slot)
    # An offered time after it, whatever the hour now (free_slot + 1 h may be past 17:00).
    later = next(s for s in page_free_slots(booking_page) if s > free_slot)
    booking_reschedule(booking=booking, slot=later, actor="staff")
    booking.refresh_from_db()
    _, moved = event_of(booking_ics(booking, page_url="https://x/"))
    assert (moved["sequence"], moved.decoded("dtstart")) == (1, later)
    booking = booking_cancel(booking=booking, actor="guest")
    calendar, cancelled = event_of(booking_ics(booking, page_url="https://x/"))
    assert str(calendar["method"]) == "CANCEL"
    assert (str(cancelled["status"]), cancelled["sequence"]) == ("CANCELLED", 2)
    assert str(cancelled["uid"]) == str(moved["uid"]) == f"{booking.uid}@leadsync"
    # As of an earlier change: what that change's email carried.
    reschedule = booking.changes.get(kind="rescheduled")
    calendar, then = event_of(booking_ics(booking, page_url="https://x/", change=reschedule))
    assert str(calendar["method"]) == "REQUEST" and then["sequence"] == 1


def test_the_public_download_uses_it(client, booking_page):
    booking = BookingFactory(page=booking_page)
    page = booking.page
    response = client.get(f"/{page.tenant.slug}/{page.slug}/booked/{booking.uid}.ics")
    assert response["Content-Type"] == "text/calendar; charset=utf-8"
    calendar, event = event_of(response.content)
    assert str(calendar["method"]) == "REQUEST" and "sequence" in event

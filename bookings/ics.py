"""The .ics calendar file of a booking (RFC 5545, via the icalendar package)."""

import datetime

import icalendar

from bookings.models import Booking


def booking_ics(booking: Booking, *, page_url: str) -> bytes:
    """A one-event calendar for `booking`; cancelled bookings carry STATUS:CANCELLED."""
    page = booking.page
    calendar = icalendar.Calendar()
    calendar.add("prodid", "-//LeadSync//Bookings//EN")
    calendar.add("version", "2.0")
    calendar.add("method", "PUBLISH")
    event = icalendar.Event()
    event.add("uid", f"{booking.uid}@leadsync")
    event.add("dtstamp", datetime.datetime.now(datetime.UTC))
    event.add("dtstart", booking.starts_at.astimezone(datetime.UTC))
    event.add("dtend", booking.ends_at.astimezone(datetime.UTC))
    event.add("summary", f"{page.title} — {page.tenant.name}")
    event.add("description", f"Booked by {booking.guest_name} on {page_url}")
    event.add("url", page_url)
    event.add("status", "CANCELLED" if booking.is_cancelled else "CONFIRMED")
    calendar.add_component(event)
    return calendar.to_ical()

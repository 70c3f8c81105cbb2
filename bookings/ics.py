"""The .ics calendar file of a booking (RFC 5545 / iTIP RFC 5546, via the icalendar package).

Every version of a booking's invitation shares one UID (`<booking.uid>@leadsync`), and its
SEQUENCE is the booking's: calendars replace an event with a higher SEQUENCE, so a
reschedule moves the guest's event and a cancellation (METHOD:CANCEL) removes it.
"""

import datetime
from email.utils import parseaddr

import icalendar
from django.conf import settings

from bookings.models import Booking, BookingChange


def booking_ics(booking: Booking, *, page_url: str, change: BookingChange | None = None) -> bytes:
    """A one-event calendar for `booking` as it is now, or as it was after `change` (an
    email announces its own change even when a later one has happened since).

    METHOD:REQUEST with STATUS:CONFIRMED; a cancelled booking gives METHOD:CANCEL with
    STATUS:CANCELLED. ORGANIZER is the page's host (else the tenant, at our sender address),
    ATTENDEE the guest.
    """
    page = booking.page
    if change is not None:
        starts_at, ends_at, sequence = change.starts_at, change.ends_at, change.sequence
        cancelled = change.kind == BookingChange.Kind.CANCELLED
    else:
        starts_at, ends_at, sequence = booking.starts_at, booking.ends_at, booking.sequence
        cancelled = booking.is_cancelled
    calendar = icalendar.Calendar()
    calendar.add("prodid", "-//LeadSync//Bookings//EN")
    calendar.add("version", "2.0")
    calendar.add("method", "CANCEL" if cancelled else "REQUEST")
    event = icalendar.Event()
    event.add("uid", f"{booking.uid}@leadsync")
    event.add("sequence", sequence)
    event.add("dtstamp", datetime.datetime.now(datetime.UTC))
    event.add("dtstart", starts_at.astimezone(datetime.UTC))
    event.add("dtend", ends_at.astimezone(datetime.UTC))
    event.add("summary", f"{page.title} — {page.tenant.name}")
    event.add("description", f"Booked by {booking.guest_name} on {page_url}")
    event.add("url", page_url)
    event.add("status", "CANCELLED" if cancelled else "CONFIRMED")
    event.add("organizer", _organizer(booking))
    attendee = icalendar.vCalAddress(f"mailto:{booking.guest_email}")
    attendee.params["cn"] = icalendar.vText(booking.guest_name)
    attendee.params["role"] = icalendar.vText("REQ-PARTICIPANT")
    attendee.params["partstat"] = icalendar.vText("ACCEPTED")
    event.add("attendee", attendee)
    calendar.add_component(event)
    return calendar.to_ical()


def _organizer(booking: Booking) -> icalendar.vCalAddress:
    page = booking.page
    host = page.host
    if host is not None and host.email:
        name, email = host.get_full_name() or host.get_username(), host.email
    else:
        name, email = page.tenant.name, parseaddr(settings.DEFAULT_FROM_EMAIL)[1]
    organizer = icalendar.vCalAddress(f"mailto:{email}")
    organizer.params["cn"] = icalendar.vText(name)
    return organizer

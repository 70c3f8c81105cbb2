"""What a guest email says: subject, plain text and HTML in the page's language and the
guest's time zone, with the booking's .ics attached (bookings.ics)."""

from __future__ import annotations

import zoneinfo
from email.mime.text import MIMEText

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.utils import formats, translation
from django.utils.translation import gettext as _

from bookings.ics import booking_ics
from bookings.manage_links import manage_url
from bookings.models import Booking, GuestEmail


def guest_zone(booking: Booking) -> zoneinfo.ZoneInfo:
    """The guest's zone (as the booking page detected it), else the page's."""
    for name in (booking.guest_timezone, booking.page.timezone):
        try:
            return zoneinfo.ZoneInfo(name)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            continue
    return zoneinfo.ZoneInfo("UTC")


def when_text(starts_at, ends_at, zone: zoneinfo.ZoneInfo) -> str:
    """ "Monday, Jan. 7, 2030, 10:00-10:30 (Europe/Berlin)" in the active language."""
    start, end = starts_at.astimezone(zone), ends_at.astimezone(zone)
    return _("%(weekday)s, %(date)s, %(start)s–%(end)s (%(zone)s)") % {  # noqa: RUF001
        "weekday": formats.date_format(start, "l"),
        "date": formats.date_format(start, "DATE_FORMAT"),
        "start": formats.time_format(start, "H:i"),
        "end": formats.time_format(end, "H:i"),
        "zone": str(zone),
    }


def _subject(kind: str, title: str) -> str:
    subjects = {
        GuestEmail.Kind.CONFIRMATION: _("Booked: %(title)s"),
        GuestEmail.Kind.RESCHEDULED: _("Moved: %(title)s"),
        GuestEmail.Kind.CANCELLED: _("Cancelled: %(title)s"),
        GuestEmail.Kind.REMINDER: _("Reminder: %(title)s"),
    }
    return subjects[kind] % {"title": title}


def guest_email_message(email: GuestEmail) -> EmailMultiAlternatives:
    """The message for `email`, as of its change (reminders: the booking as it is now)."""
    booking = email.booking
    page = booking.page
    change = email.change
    starts_at, ends_at = (
        (change.starts_at, change.ends_at) if change else (booking.starts_at, booking.ends_at)
    )
    zone = guest_zone(booking)
    page_url = f"{settings.SITE_URL}{page.get_absolute_url()}"
    with translation.override(page.language):
        context = {
            "kind": email.kind,
            "booking": booking,
            "page": page,
            "tenant": page.tenant,
            "when": when_text(starts_at, ends_at, zone),
            "previous_when": (
                when_text(
                    change.previous_starts_at,
                    change.previous_starts_at + (ends_at - starts_at),
                    zone,
                )
                if change and change.previous_starts_at
                else ""
            ),
            "reason": change.reason if change else "",
            "manage_url": "" if email.kind == GuestEmail.Kind.CANCELLED else manage_url(booking),
            "page_url": page_url,
            "language": page.language,
        }
        subject = _subject(email.kind, page.title)
        text = render_to_string("bookings/email/guest.txt", context)
        html = render_to_string("bookings/email/guest.html", context)
    message = EmailMultiAlternatives(
        subject=subject,
        body=text,
        to=[email.recipient],
        headers={"Auto-Submitted": "auto-generated"},
    )
    message.attach_alternative(html, "text/html")
    ics = booking_ics(booking, page_url=page_url, change=change)
    part = MIMEText(ics.decode(), "calendar", "utf-8")
    part.set_param("method", "CANCEL" if email.kind == GuestEmail.Kind.CANCELLED else "REQUEST")
    part.add_header("Content-Disposition", "attachment", filename="invite.ics")
    message.attach(part)
    return message

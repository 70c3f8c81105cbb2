"""Bookings' own subscribers to its signals: the guest emails of each change, recorded in
the change's transaction (an outbox), sent after commit by bookings.tasks."""

from django.dispatch import receiver

from bookings import guest_emails
from bookings.models import Booking, BookingChange
from bookings.signals import booking_changed, booking_submitted


@receiver(booking_submitted, sender=Booking, dispatch_uid="bookings.guest_email_confirmation")
def guest_email_on_submit(sender, booking: Booking, **kwargs) -> None:
    change = booking.changes.get(kind=BookingChange.Kind.BOOKED)
    guest_emails.guest_email_record(change=change)


@receiver(booking_changed, sender=Booking, dispatch_uid="bookings.guest_email_change")
def guest_email_on_change(sender, change: BookingChange, **kwargs) -> None:
    guest_emails.guest_email_record(change=change)

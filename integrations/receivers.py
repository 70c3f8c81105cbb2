"""Receivers of bookings signals (connected in IntegrationsConfig.ready)."""

from django.dispatch import receiver

from bookings.models import Booking
from bookings.signals import booking_submitted
from integrations import delivery_services


@receiver(booking_submitted, sender=Booking, dispatch_uid="integrations.deliveries_create")
def deliveries_create_on_submit(sender, booking: Booking, **kwargs) -> None:
    """The transactional outbox: a booking is never saved without its deliveries (this
    runs inside the booking's transaction; raising here rolls the booking back)."""
    delivery_services.deliveries_create_for_booking(booking=booking)

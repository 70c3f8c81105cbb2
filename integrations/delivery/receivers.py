"""Receivers of other concerns' events (connected in IntegrationsConfig.ready).

- bookings' `booking_submitted`: the transactional outbox.
- bookings' `booking_changed`: the write-backs of a change, in the same outbox.
- connection's `connection_reconnected`: held deliveries go out by themselves.
"""

from django.dispatch import receiver

from bookings.models import Booking, BookingChange
from bookings.signals import booking_changed, booking_submitted
from integrations.connection.signals import connection_reconnected
from integrations.delivery import services, write_backs
from integrations.models import SalesforceConnection


@receiver(booking_submitted, sender=Booking, dispatch_uid="integrations.deliveries_create")
def deliveries_create_on_submit(sender, booking: Booking, **kwargs) -> None:
    """The transactional outbox: a booking is never saved without its deliveries (this
    runs inside the booking's transaction; raising here rolls the booking back)."""
    services.deliveries_create_for_booking(booking=booking)


@receiver(booking_changed, sender=Booking, dispatch_uid="integrations.write_backs_create")
def write_backs_create_on_change(sender, change: BookingChange, **kwargs) -> None:
    """The outbox of a change (cancel, reschedule, no-show, completed): its write-backs
    are saved in the change's own transaction (raising here rolls the change back)."""
    write_backs.write_backs_create_for_change(change=change)


@receiver(
    connection_reconnected,
    sender=SalesforceConnection,
    dispatch_uid="integrations.deliveries_release_held",
)
def deliveries_release_on_reconnect(sender, connection: SalesforceConnection, **kwargs) -> None:
    """Deliveries held while the connection was refused go out after a reconnect (inside
    the reconnect's transaction; the push is enqueued on commit)."""
    services.deliveries_release_held(connection=connection)

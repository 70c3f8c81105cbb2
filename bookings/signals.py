"""Events the booking site announces. Other apps subscribe; `bookings` imports none of them."""

from django.dispatch import Signal

#: Sent with `booking=` and `change=` (its BOOKED BookingChange) inside the transaction
#: that saves a new Booking. A receiver that
#: writes rows (an outbox) commits or rolls back together with the booking; a receiver
#: that raises makes the booking fail.
booking_submitted = Signal()

#: Sent with `change=` (a BookingChange: rescheduled, cancelled, no-show, completed) inside
#: the transaction that records it, with the same commit-or-roll-back contract.
booking_changed = Signal()

"""`make chaos`: faults on real processes (the bench's), and what they did to bookings."""

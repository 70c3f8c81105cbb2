"""Run by test_first_run_sqlite.py in a process of its own, on the first-run defaults (no
DATABASE_URL, no REDIS_URL: SQLite and files under LEADSYNC_VAR_DIR): the booking path's
written-out statements (the busy meetings, a booking's targets) on SQLite. Prints JSON."""

import datetime
import json

import django

django.setup()

from django.core.management import call_command  # noqa: E402 - after setup

call_command("migrate", verbosity=0)

from bookings.selectors import page_free_slots, page_slot_status  # noqa: E402
from bookings.services import Guest, SlotTaken, booking_submit  # noqa: E402
from integrations.models import Delivery  # noqa: E402
from tests.factories import BookingPageFactory, SyncTargetFactory, UserFactory  # noqa: E402


def book(page, slot, email):
    return booking_submit(
        page=page, slot=slot, guest=Guest(name="Ann", email=email), answers={}, url_params={}
    )


host = UserFactory()
page = BookingPageFactory(host=host)
other = BookingPageFactory(tenant=page.tenant, host=host)  # the host's other page
own = BookingPageFactory()  # no host: its own times only
SyncTargetFactory(page=page)
SyncTargetFactory(page=page, sobject="Contact", enabled=False)
free = page_free_slots(page)
slot = free[2]
booking = book(page, slot, "ann@example.com")
result = {
    "free_before": slot in free,
    "free_after": slot in page_free_slots(page),
    "status": page_slot_status(page, slot),
    "status_excluding_it": page_slot_status(page, slot, exclude=booking),
    "hosts_other_page": page_slot_status(other, slot),
    "unrelated_page": page_slot_status(own, slot) if slot in page_free_slots(own) else "n/a",
    "next_slot": page_slot_status(page, slot + datetime.timedelta(minutes=30)),
    "deliveries": list(Delivery.objects.filter(booking=booking).values_list("status", "sobject")),
}
try:
    book(other, slot, "bo@example.com")
    result["second_booking"] = "accepted"
except SlotTaken:
    result["second_booking"] = "taken"
print(json.dumps(result))

"""A guest books a slot on the public page in a real Chromium."""

import datetime
import zoneinfo

import pytest
from playwright.sync_api import expect

from bookings.models import Booking
from bookings.selectors import page_free_slots

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

GUEST_ZONE = "America/New_York"


@pytest.fixture
def browser_context_args() -> dict:
    """A phone-sized window in a zone other than the page's (Europe/Berlin)."""
    return {"locale": "en-US", "timezone_id": GUEST_ZONE, "viewport": {"width": 390, "height": 844}}


def test_guest_books_a_slot_and_sees_the_confirmation(live_server, page, booking_page):
    slot = page_free_slots(booking_page)[0]
    page.goto(f"{live_server.url}{booking_page.get_absolute_url()}?utm_source=ads&LeadSource=Web")

    # The inline script detected the browser's zone and the times are shown in it.
    expect(page.get_by_label("Show times in")).to_have_value(GUEST_ZONE)
    zone = zoneinfo.ZoneInfo(GUEST_ZONE)
    start, end = slot.astimezone(zone), (slot + datetime.timedelta(minutes=30)).astimezone(zone)
    time = page.get_by_label("Time", exact=True)
    option = time.locator(f'option[value="{slot.isoformat()}"]')
    expect(option).to_have_text(f"{start:%H:%M} to {end:%H:%M}")

    # A required answer is missing: the guest sees why and keeps what they typed.
    time.select_option(slot.isoformat())
    page.get_by_label("Your name").fill("Ann Lee")
    page.get_by_label("Your email").fill("ann@example.com")
    page.get_by_role("button", name="Book this time").click()
    expect(page.get_by_role("alert")).to_contain_text("Company: This field is required.")
    expect(page.get_by_label("Your name")).to_have_value("Ann Lee")

    page.get_by_label("Company").fill("Acme")
    page.get_by_label("Support").check()
    page.get_by_role("button", name="Book this time").click()

    expect(page.get_by_role("heading", name="You're booked")).to_be_visible()
    expect(page.get_by_text(GUEST_ZONE)).to_be_visible()
    href = page.get_by_role("link", name="Add to calendar (.ics)").get_attribute("href")
    ics = page.request.get(f"{live_server.url}{href}")
    assert ics.ok and b"BEGIN:VCALENDAR" in ics.body()

    booking = Booking.objects.get()
    assert booking.starts_at == slot
    assert booking.guest_timezone == GUEST_ZONE
    assert booking.answers == {"company": "Acme", "meeting_type": "Support"}
    assert booking.url_params == {"utm_source": "ads", "LeadSource": "Web"}

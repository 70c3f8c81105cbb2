"""A guest books a slot on the public page in a real Chromium: with the picker's script,
at desktop and phone widths, and without JavaScript."""

import datetime
import zoneinfo
from pathlib import Path

import pytest
from playwright.sync_api import expect

from bookings.models import Booking
from bookings.selectors import page_free_slots
from tests.factories import BookingPageFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

GUEST_ZONE = "America/New_York"
TOKYO = "Asia/Tokyo"
SCREENSHOTS = Path(__file__).resolve().parents[2] / "var" / "test-artifacts" / "screenshots"


@pytest.fixture
def browser_context_args() -> dict:
    """A phone-sized window in a zone other than the page's (Europe/Berlin)."""
    return {"locale": "en-US", "timezone_id": GUEST_ZONE, "viewport": {"width": 390, "height": 844}}


def span(slot: datetime.datetime, zone: str) -> str:
    """How the picker names the time button of `slot` in `zone`: "17:00 to 17:30"."""
    tz = zoneinfo.ZoneInfo(zone)
    end = slot + datetime.timedelta(minutes=30)
    return f"{slot.astimezone(tz):%H:%M} to {end.astimezone(tz):%H:%M}"


def time_button(tab, slot, zone):
    """The visible button (the radio's label) of `slot`; the radio itself is hidden."""
    radio = tab.get_by_label(span(slot, zone), exact=True)
    expect(radio).to_have_value(slot.isoformat())
    return tab.locator(f'label[for="{radio.get_attribute("id")}"]')


def second_day_slot(page, zone: str) -> datetime.datetime:
    """The first free slot of the second day (in `zone`) that has free times."""
    tz = zoneinfo.ZoneInfo(zone)
    slots = page_free_slots(page)
    days = sorted({s.astimezone(tz).date() for s in slots})
    return next(s for s in slots if s.astimezone(tz).date() == days[1])


def pick_day(tab, slot: datetime.datetime, zone: str) -> None:
    """Open the month of `slot` in the calendar (it shows the first free month) and click
    its day."""
    day = slot.astimezone(zoneinfo.ZoneInfo(zone)).date()
    title = tab.locator(".cal-title")
    if title.inner_text() != f"{day:%B %Y}":
        tab.get_by_role("link", name="Next month").click()
        expect(title).to_have_text(f"{day:%B %Y}")
    tab.get_by_role("link", name=f"{day:%A %-d %B}: free times").click()
    expect(tab.locator("legend[data-times-title]")).to_have_text(f"{day:%A %-d %B}")


def answer_and_book(tab) -> None:
    tab.get_by_label("Your name").fill("Kenji Sato")
    tab.get_by_label("Your email").fill("kenji@example.com")
    tab.get_by_label("Company").fill("Acme KK")
    tab.get_by_role("button", name="Book this time").click()
    expect(tab.get_by_role("heading", name="You're booked")).to_be_visible()


def test_guest_books_a_slot_and_sees_the_confirmation(live_server, page, booking_page):
    slot = page_free_slots(booking_page)[0]
    page.goto(f"{live_server.url}{booking_page.get_absolute_url()}?utm_source=ads&LeadSource=Web")

    # The inline script detected the browser's zone; the first free day is chosen and
    # its times are shown in that zone.
    expect(page.get_by_label("Time zone")).to_have_value(GUEST_ZONE)
    button = time_button(page, slot, GUEST_ZONE)

    # A required answer is missing: the guest sees why and keeps what they typed.
    button.click()
    page.get_by_label("Your name").fill("Ann Lee")
    page.get_by_label("Your email").fill("ann@example.com")
    page.get_by_role("button", name="Book this time").click()
    expect(page.get_by_role("alert")).to_contain_text("Company: This field is required.")
    expect(page.get_by_label("Your name")).to_have_value("Ann Lee")
    expect(page.get_by_label(span(slot, GUEST_ZONE), exact=True)).to_be_checked()

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


@pytest.mark.parametrize("width", [1280, 390])
def test_guest_in_tokyo_picks_a_day_and_a_time_in_tokyo_time(
    live_server, browser, booking_page, width
):
    context = browser.new_context(
        locale="en-GB", timezone_id=TOKYO, viewport={"width": width, "height": 900}
    )
    context.set_default_timeout(10_000)
    tab = context.new_page()
    try:
        slot = second_day_slot(booking_page, TOKYO)
        tab.goto(f"{live_server.url}{booking_page.get_absolute_url()}?utm_source=ads")
        expect(tab.get_by_label("Time zone")).to_have_value(TOKYO)

        pick_day(tab, slot, TOKYO)  # in place, by the script: the address follows
        assert f"date={slot.astimezone(zoneinfo.ZoneInfo(TOKYO)).date()}" in tab.url
        button = time_button(tab, slot, TOKYO)
        button.click()
        expect(tab.get_by_label(span(slot, TOKYO), exact=True)).to_be_checked()
        assert tab.evaluate("document.documentElement.scrollWidth") <= width
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        tab.screenshot(path=str(SCREENSHOTS / f"booking-picker-{width}.png"), full_page=True)

        answer_and_book(tab)
        booking = Booking.objects.get()
        assert (booking.starts_at, booking.guest_timezone) == (slot, TOKYO)
        assert booking.url_params == {"utm_source": "ads"}  # not month/date/tz
    finally:
        context.close()


def test_guest_without_javascript_chooses_a_zone_a_day_and_a_time(
    live_server, browser, booking_page
):
    context = browser.new_context(
        locale="en-GB",
        timezone_id=TOKYO,
        java_script_enabled=False,
        viewport={"width": 390, "height": 844},
    )
    context.set_default_timeout(10_000)
    tab = context.new_page()
    try:
        slot = second_day_slot(booking_page, TOKYO)
        tab.goto(f"{live_server.url}{booking_page.get_absolute_url()}?utm_source=ads")
        # No script to detect the zone: the page's, until the guest picks theirs.
        expect(tab.get_by_label("Time zone")).to_have_value("Europe/Berlin")
        tab.get_by_role("link", name="Choose from the list").click()
        tab.get_by_label("Show times in").select_option(TOKYO)
        tab.get_by_role("button", name="Show times").click()
        expect(tab.get_by_label("Time zone")).to_have_value(TOKYO)

        pick_day(tab, slot, TOKYO)  # links: each a page load
        time_button(tab, slot, TOKYO).click()
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        tab.screenshot(path=str(SCREENSHOTS / "booking-picker-nojs-390.png"), full_page=True)
        answer_and_book(tab)
        booking = Booking.objects.get()
        assert (booking.starts_at, booking.guest_timezone) == (slot, TOKYO)
        assert booking.url_params == {"utm_source": "ads"}
    finally:
        context.close()


def test_script_changes_month_and_zone_in_place(live_server, browser, tenant_a):
    booking_page = BookingPageFactory(tenant=tenant_a, slug="long", horizon_days=60)
    context = browser.new_context(
        locale="en-GB", timezone_id="Europe/Berlin", viewport={"width": 1280, "height": 900}
    )
    context.set_default_timeout(10_000)
    tab = context.new_page()
    try:
        tab.goto(f"{live_server.url}{booking_page.get_absolute_url()}")
        loads = []
        tab.on("load", lambda _: loads.append(1))
        title = tab.locator(".cal-title")
        first_month = title.inner_text()

        tab.get_by_role("link", name="Next month").click()
        expect(title).not_to_have_text(first_month)
        next_slots = [
            s for s in page_free_slots(booking_page)
            if f"{s.astimezone(zoneinfo.ZoneInfo('Europe/Berlin')):%B %Y}" == title.inner_text()
        ]  # fmt: skip
        time_button(tab, next_slots[0], "Europe/Berlin")  # its first free day, chosen
        tab.get_by_role("link", name="Previous month").click()
        expect(title).to_have_text(first_month)

        zone = tab.get_by_label("Time zone")
        zone.fill("America/New_York")
        zone.press("Enter")
        slot = page_free_slots(booking_page)[0]
        time_button(tab, slot, "America/New_York")
        assert "tz=America%2FNew_York" in tab.url
        zone.fill("Mars/Base")
        zone.press("Enter")
        expect(tab.get_by_role("alert")).to_contain_text("Unknown time zone “Mars/Base”")
        expect(zone).to_have_attribute("aria-invalid", "true")
        assert loads == []  # all of it in place
    finally:
        context.close()

"""The guest moves a meeting on the manage page with the picker's script, in Chromium: the
calendar and the times come from the token's own JSON (the meeting blocks nothing, its own
time is not offered), in the page's language (Japanese), at phone width."""

import datetime
import re
import zoneinfo
from pathlib import Path

import pytest
from playwright.sync_api import expect

from bookings.manage_links import manage_path
from bookings.models import Booking
from bookings.selectors import page_free_slots
from tests.factories import BookingFactory, BookingPageFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

TOKYO = zoneinfo.ZoneInfo("Asia/Tokyo")
SCREENSHOTS = Path(__file__).resolve().parents[2] / "var" / "test-artifacts" / "screenshots"


def test_guest_moves_next_to_the_meeting_in_place_in_japanese(live_server, browser, tenant_a):
    page = BookingPageFactory(
        tenant=tenant_a, slug="intro", language="ja", horizon_days=60,
        buffer_before_minutes=30, buffer_after_minutes=30,
    )  # fmt: skip
    slots = page_free_slots(page)
    half = datetime.timedelta(minutes=30)
    start = next(  # with the slot after it on the same day in Tokyo, whatever the hour now
        s for s in slots[1:]
        if s + half in slots and (s + half).astimezone(TOKYO).date() == s.astimezone(TOKYO).date()
    )  # fmt: skip
    booking = BookingFactory(page=page, starts_at=start, guest_timezone="Asia/Tokyo")
    after = start + datetime.timedelta(minutes=30)  # inside the buffer: hidden from others
    assert after not in page_free_slots(page)
    day = start.astimezone(TOKYO).date()

    context = browser.new_context(
        locale="ja-JP", timezone_id="Asia/Tokyo", viewport={"width": 390, "height": 844}
    )
    context.set_default_timeout(10_000)
    tab = context.new_page()
    fetched, loads = [], []
    tab.on("request", lambda r: fetched.append(r.url) if ".json" in r.url else None)
    try:
        tab.goto(f"{live_server.url}{manage_path(booking)}")
        tab.on("load", lambda _: loads.append(1))
        title = tab.locator(".cal-title")
        expect(tab.get_by_label("タイムゾーン")).to_have_value("Asia/Tokyo")

        # Another month and back, in place and in Japanese (the script's Intl, in "ja").
        first_title = title.inner_text()
        assert re.fullmatch(r"\d{4}年\d{1,2}月", first_title)
        tab.get_by_role("link", name="次の月").click()
        expect(title).not_to_have_text(first_title)
        assert re.fullmatch(r"\d{4}年\d{1,2}月", title.inner_text())
        tab.get_by_role("link", name="前の月").click()
        expect(title).to_have_text(first_title)
        if first_title != f"{day.year}年{day.month}月":  # the meeting's day is next month
            tab.get_by_role("link", name="次の月").click()
            expect(title).to_have_text(f"{day.year}年{day.month}月")

        # The meeting's day: the time right after it is offered, its own time is not.
        weekday = "月火水木金土日"[day.weekday()]
        tab.get_by_role("link", name=f"{day.month}月{day.day}日{weekday}曜日: 空き時間あり").click()
        radio = tab.locator(f'input[name="slot"][value="{after.isoformat()}"]')
        expect(radio).to_have_count(1)
        expect(tab.locator(f'input[name="slot"][value="{start.isoformat()}"]')).to_have_count(0)
        expect(tab.locator("[data-status]")).to_contain_text("の空き時間:")
        assert fetched and all("/manage/" in url for url in fetched if "zones" not in url)
        assert loads == []  # all of it in place
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        tab.screenshot(path=str(SCREENSHOTS / "manage-script-ja-390.png"), full_page=True)
        assert tab.evaluate("document.documentElement.scrollWidth") <= 390

        tab.locator(f'label[for="{radio.get_attribute("id")}"]').click()
        tab.get_by_role("button", name="この日時に変更する").click()
        expect(tab.locator(".notice")).to_contain_text("ミーティングの日時を変更しました")
        assert Booking.objects.get(pk=booking.pk).starts_at == after
    finally:
        context.close()

"""A guest books on the page, opens the manage link from the confirmation email, moves the
meeting, then cancels it: in Chromium, with a real Celery worker sending the emails
through Django's file backend. Three emails arrive, each with the same invitation UID and
a higher SEQUENCE."""

import email
import re
import zoneinfo
from email.message import Message
from pathlib import Path

import icalendar
import pytest
from playwright.sync_api import expect

from bookings.models import Booking, GuestEmail
from bookings.selectors import booking_move_slots, page_free_slots
from tests.bookings.test_browser import pick_day, time_button
from tests.conftest import wait_until, worker_start, worker_stop

pytestmark = [
    pytest.mark.browser,
    pytest.mark.worker,
    pytest.mark.django_db(transaction=True),
]

GUEST_ZONE = "Asia/Tokyo"
ARTIFACTS = Path(__file__).resolve().parents[2] / "var" / "test-artifacts" / "screenshots"
SEPARATOR = b"\n" + b"-" * 79 + b"\n"  # what Django's file backend writes between messages


@pytest.fixture
def browser_context_args() -> dict:
    return {"locale": "en-US", "timezone_id": GUEST_ZONE, "viewport": {"width": 390, "height": 844}}


@pytest.fixture
def mail_dir(tmp_path):
    return tmp_path / "mail"


@pytest.fixture
def email_worker(live_server, mail_dir, redis_url, tmp_path):
    """A worker that sends to files in `mail_dir`, with links to the live server."""
    proc = worker_start(
        log_path=tmp_path / "worker.log",
        env={"EMAIL_URL": f"filemail://{mail_dir}", "LEADSYNC_SITE_URL": live_server.url},
    )
    yield proc
    worker_stop(proc)


def mailbox(mail_dir: Path) -> list[Message]:
    messages = []
    for path in sorted(mail_dir.glob("*.log"), key=lambda p: p.stat().st_mtime):
        for chunk in path.read_bytes().split(SEPARATOR):
            if chunk.strip():
                messages.append(email.message_from_bytes(chunk))
    return messages


def wait_for_mail(mail_dir: Path, count: int) -> list[Message]:
    return wait_until(
        lambda: (m := mailbox(mail_dir)) and len(m) >= count and m,
        timeout=30,
        message=f"{count} email(s) in {mail_dir}",
    )


def text_of(message: Message) -> str:
    part = next(p for p in message.walk() if p.get_content_type() == "text/plain")
    return part.get_payload(decode=True).decode()


def invitation(message: Message):
    part = next(p for p in message.walk() if p.get_content_type() == "text/calendar")
    calendar = icalendar.Calendar.from_ical(part.get_payload(decode=True))
    return calendar, calendar.walk("VEVENT")[0]


def test_guest_books_moves_and_cancels_through_the_emailed_link(
    live_server, page, browser, booking_page, email_worker, mail_dir
):
    slot, new_slot = page_free_slots(booking_page)[0], page_free_slots(booking_page)[5]
    tokyo = zoneinfo.ZoneInfo(GUEST_ZONE)

    # 1. Book on the page: a day in the calendar, then a time (in the guest's zone).
    page.goto(f"{live_server.url}{booking_page.get_absolute_url()}")
    expect(page.get_by_label("Time zone")).to_have_value(GUEST_ZONE)
    pick_day(page, slot, GUEST_ZONE)
    time_button(page, slot, GUEST_ZONE).click()
    page.get_by_label("Your name").fill("Ann Lee")
    page.get_by_label("Your email").fill("ann@example.com")
    page.get_by_label("Company").fill("Acme")
    page.get_by_role("button", name="Book this time").click()
    expect(page.get_by_role("heading", name="You're booked")).to_be_visible()

    # 2. The confirmation email (sent by the worker) carries the manage link.
    [confirmation] = wait_for_mail(mail_dir, 1)
    assert confirmation["To"] == "ann@example.com"
    assert confirmation["Subject"] == "Booked: Intro call"
    body = text_of(confirmation)
    assert f"{slot.astimezone(tokyo):%H:%M}" in body and GUEST_ZONE in body
    link = re.search(r"http://\S+/manage/\S+/", body)[0]
    assert link.startswith(live_server.url)

    # 3. Open it without JavaScript: the manage page works as plain HTML.
    context = browser.new_context(
        java_script_enabled=False, timezone_id=GUEST_ZONE, viewport={"width": 1280, "height": 900}
    )
    context.set_default_timeout(10_000)
    guest = context.new_page()
    guest.goto(link)
    expect(guest.get_by_role("heading", name="Your booking")).to_be_visible()
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    guest.screenshot(path=str(ARTIFACTS / "manage-1280.png"), full_page=True)
    guest.set_viewport_size({"width": 390, "height": 844})
    guest.screenshot(path=str(ARTIFACTS / "manage-390.png"), full_page=True)
    assert guest.evaluate("document.documentElement.scrollWidth") <= 390

    # 4. Move it: the calendar's day link (a page load, no script), the time, submit.
    local = new_slot.astimezone(tokyo)
    assert new_slot in booking_move_slots(Booking.objects.get())
    expect(guest.get_by_label("Time zone")).to_have_value(GUEST_ZONE)  # the guest's zone
    pick_day(guest, new_slot, GUEST_ZONE)
    assert "/manage/" in guest.url  # the calendar's links keep the token's address
    guest.screenshot(path=str(ARTIFACTS / "manage-picker-390.png"), full_page=True)
    time_button(guest, new_slot, GUEST_ZONE).click()
    guest.get_by_role("button", name="Move to this time").click()
    expect(guest.locator(".notice[role=status]")).to_contain_text("Your meeting has moved")
    expect(guest.get_by_text(f"{local:%H:%M}", exact=False).first).to_be_visible()
    assert Booking.objects.get().starts_at == new_slot
    assert slot in page_free_slots(booking_page)  # the old time is free at once
    moved = wait_for_mail(mail_dir, 2)[1]
    assert moved["Subject"] == "Moved: Intro call"

    # 5. Cancel it with a reason.
    guest.get_by_label("Reason (optional)").fill("Something came up")
    guest.get_by_role("button", name="Cancel the meeting").click()
    expect(guest.get_by_role("heading", name="This meeting is cancelled")).to_be_visible()
    cancelled = wait_for_mail(mail_dir, 3)[2]
    assert cancelled["Subject"] == "Cancelled: Intro call"
    assert "Something came up" in text_of(cancelled)
    context.close()

    # Three emails, one invitation: same UID, SEQUENCE rising, the last one a CANCEL.
    messages = mailbox(mail_dir)
    assert len(messages) == 3
    uid = f"{Booking.objects.get().uid}@leadsync"
    seen = []
    for message in messages:
        calendar, event = invitation(message)
        assert str(event["uid"]) == uid
        seen.append((str(calendar["method"]), event["sequence"]))
    assert seen == [("REQUEST", 0), ("REQUEST", 1), ("CANCEL", 2)]
    assert set(GuestEmail.objects.values_list("status", flat=True)) == {"sent"}

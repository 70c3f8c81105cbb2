"""The whole guest side against Salesforce, in Chromium with a real Celery worker: a guest
in Tokyo books through the calendar, opens the manage link from the confirmation email,
moves the meeting, then cancels it. The worker sends the emails (Django's file backend)
and pushes the post and both write-backs to the lived-in emulator org: one Lead, one
Event moved and then kept marked "Cancelled: ", the reason and status on the Lead, and
three emails whose invitations share a UID with a rising SEQUENCE."""

import re
import zoneinfo

import pytest
from playwright.sync_api import expect

from bookings.models import Booking, GuestEmail
from bookings.selectors import page_free_slots
from integrations.models import Delivery, SObjectSchema, SyncTarget
from tests.bookings.test_browser import pick_day, time_button
from tests.bookings.test_guest_journey_browser import invitation, mailbox, text_of, wait_for_mail
from tests.conftest import PIPELINE_QUEUE, wait_until, worker_start, worker_stop
from tests.factories import SObjectSchemaFactory
from tests.integrations.delivery.test_people import person_page, records
from tests.integrations.delivery.test_write_backs import cancel_policy, sf_time

pytestmark = [pytest.mark.browser, pytest.mark.worker, pytest.mark.django_db(transaction=True)]

TOKYO = "Asia/Tokyo"
QUEUE = f"{PIPELINE_QUEUE}-guest"


@pytest.fixture
def browser_context_args() -> dict:
    return {"locale": "en-US", "timezone_id": TOKYO, "viewport": {"width": 1280, "height": 1000}}


@pytest.fixture
def guest_worker(live_server, sf_emulator_server, tmp_path, settings):
    """A worker on its own queue that reaches the emulator and writes mail to files,
    with links to the live server; tasks this test enqueues go to that queue."""
    from integrations.salesforce.emulator import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET
    from leadsync.celery import app

    mail_dir = tmp_path / "mail"
    proc = worker_start(
        log_path=tmp_path / "worker.log",
        queue=QUEUE,
        env={
            "SALESFORCE_CA_BUNDLE": sf_emulator_server.ca_path,
            "SALESFORCE_CONSUMER_KEY": DEFAULT_CLIENT_ID,
            "SALESFORCE_CONSUMER_SECRET": DEFAULT_CLIENT_SECRET,
            "EMAIL_URL": f"filemail://{mail_dir}",
            "LEADSYNC_SITE_URL": live_server.url,
            "SALESFORCE_TIMEOUT": "5",
        },
    )
    previous = app.conf.task_default_queue
    app.conf.task_default_queue = QUEUE
    settings.SITE_URL = live_server.url
    yield mail_dir
    app.conf.task_default_queue = previous
    worker_stop(proc)


def settled(delivery_filter) -> Delivery:
    return wait_until(
        lambda: Delivery.objects.filter(status=Delivery.Status.SENT, **delivery_filter).first(),
        timeout=30,
        message=f"a sent delivery {delivery_filter}",
    )


def test_guest_books_moves_and_cancels_and_salesforce_follows(
    live_server, page, browser, sf_emulator, sf_connection, guest_worker
):
    mail_dir = guest_worker
    for sobject in ("Lead", "Contact", "Event"):
        SObjectSchemaFactory(connection=sf_connection, sobject=sobject)
    assert SObjectSchema.objects.filter(connection=sf_connection).count() == 3
    booking_page = person_page(sf_connection)
    cancel_policy(booking_page.sync_targets.get(), cancel_action=SyncTarget.CancelAction.MARK)
    free = page_free_slots(booking_page)
    slot = free[0]
    tokyo = zoneinfo.ZoneInfo(TOKYO)

    # 1. Book through the calendar, in Tokyo time.
    page.goto(f"{live_server.url}{booking_page.get_absolute_url()}")
    expect(page.get_by_label("Time zone")).to_have_value(TOKYO)
    pick_day(page, slot, TOKYO)  # the first free day: already shown, its times fetched again
    time_button(page, slot, TOKYO).click()
    page.wait_for_load_state("networkidle")
    expect(page.locator(f'input[name=slot][value="{slot.isoformat()}"]')).to_be_checked()
    page.get_by_label("Your name").fill("Kenji Sato")
    page.get_by_label("Your email").fill("kenji@newco.example")
    page.get_by_label("Company").fill("Newco KK")
    page.get_by_role("button", name="Book this time").click()
    expect(page.get_by_role("heading", name="You're booked")).to_be_visible()
    booking = Booking.objects.get()
    post = settled({"booking": booking, "kind": Delivery.Kind.POST})
    [lead] = records(sf_emulator, "Lead", seeded=False)
    assert post.sf_record_id == lead["Id"] and post.event_id

    # 2. The confirmation email carries the manage link; open it.
    [confirmation] = wait_for_mail(mail_dir, 1)
    assert f"{slot.astimezone(tokyo):%H:%M}" in text_of(confirmation)
    link = re.search(r"http://\S+/manage/\S+/", text_of(confirmation))[0]
    page.goto(link)
    expect(page.get_by_role("heading", name="Your booking")).to_be_visible()

    # 3. Move it to a time on another day, picked in the same calendar.
    other_day = next(s for s in free if s.astimezone(tokyo).date() != slot.astimezone(tokyo).date())
    pick_day(page, other_day, TOKYO)
    time_button(page, other_day, TOKYO).click()
    page.get_by_role("button", name="Move to this time").click()
    expect(page.locator(".notice[role=status]")).to_contain_text("Your meeting has moved")
    moved = settled(
        {"booking": booking, "kind": Delivery.Kind.WRITE_BACK, "change__kind": "rescheduled"}
    )
    events = [e for e in records(sf_emulator, "Event") if e.get("WhoId") == lead["Id"]]
    assert [e["Id"] for e in events] == [post.event_id]  # the same Event, moved
    assert events[0]["StartDateTime"].startswith(sf_time(other_day))
    assert moved.post_id == post.pk

    # 4. Cancel it with a reason.
    page.get_by_label("Reason (optional)").fill("Found another vendor")
    page.get_by_role("button", name="Cancel the meeting").click()
    expect(page.get_by_role("heading", name="This meeting is cancelled")).to_be_visible()
    settled({"booking": booking, "kind": Delivery.Kind.WRITE_BACK, "change__kind": "cancelled"})
    [event] = [e for e in records(sf_emulator, "Event") if e.get("WhoId") == lead["Id"]]
    assert event["Id"] == post.event_id and event["Subject"].startswith("Cancelled: ")
    [lead] = records(sf_emulator, "Lead", seeded=False)
    assert (lead["Meeting_Status__c"], lead["Cancel_Reason__c"]) == (
        "Cancelled",
        "Found another vendor",
    )

    # Three emails, one invitation: same UID, SEQUENCE rising, the last a CANCEL.
    wait_for_mail(mail_dir, 3)
    messages = mailbox(mail_dir)
    assert [m["Subject"] for m in messages] == [
        "Booked: Intro call",
        "Moved: Intro call",
        "Cancelled: Intro call",
    ]
    seen = []
    for message in messages:
        calendar, vevent = invitation(message)
        assert str(vevent["uid"]) == f"{booking.uid}@leadsync"
        seen.append((str(calendar["method"]), vevent["sequence"]))
    assert seen == [("REQUEST", 0), ("REQUEST", 1), ("CANCEL", 2)]
    assert set(GuestEmail.objects.values_list("status", flat=True)) == {"sent"}

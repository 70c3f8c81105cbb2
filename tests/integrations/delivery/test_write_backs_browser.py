"""In Chromium, as staff: choose what a no-show sets on the Event in the target's admin,
mark a meeting that took place as no-show on the booking's page, and find the Event in
the lived-in emulator org carrying it; the booking's history and delivery say so."""

import datetime

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from bookings.models import Booking
from integrations.delivery.push import deliveries_push
from integrations.models import Delivery, WriteBackField
from tests.factories import SObjectSchemaFactory
from tests.integrations.dashboard.test_browser import log_in
from tests.integrations.delivery.test_write_backs import book, event, fresh, push

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def browser_context_args() -> dict:
    return {"locale": "en-GB", "viewport": {"width": 1280, "height": 1000}}


def test_staff_mark_no_show_and_the_events_chosen_field_is_set(
    live_server, page, client, admin_a, sf_emulator, sf_connection
):
    from tests.integrations.delivery.test_people import person_page

    for sobject in ("Lead", "Contact", "Event"):
        SObjectSchemaFactory(connection=sf_connection, sobject=sobject)
    booking_page = person_page(sf_connection)
    target = booking_page.sync_targets.get()
    post = book(sf_connection, booking_page)
    push(sf_connection)
    post = fresh(post)
    assert post.status == Delivery.Status.SENT and post.event_id
    log_in(page, live_server, client, admin_a)

    # 1. On no-show, set the Event's meeting status (the picker offers updateable fields).
    page.goto(f"{live_server.url}/admin/integrations/synctarget/{target.pk}/change/")
    assert not target.write_back_fields.exists()  # the inline's one empty row is #0
    page.locator("select[name='write_back_fields-0-change']").select_option("no_show")
    page.locator("select[name='write_back_fields-0-applies_to']").select_option("event")
    page.locator("select[name='write_back_fields-0-sf_field']").select_option("Meeting_Status__c")
    page.locator("[name='write_back_fields-0-value']").fill("No-show")
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.locator(".messagelist")).to_contain_text("was changed successfully")
    assert WriteBackField.objects.filter(
        target=target, change="no_show", applies_to="event", sf_field="Meeting_Status__c"
    ).exists()

    # 2. The meeting took place (its time has passed); staff mark the guest no-show.
    began = timezone.now() - datetime.timedelta(minutes=40)
    Booking.objects.filter(pk=post.booking_id).update(
        starts_at=began, ends_at=began + datetime.timedelta(minutes=30)
    )
    page.goto(f"{live_server.url}/admin/bookings/booking/{post.booking_id}/change/")
    page.get_by_role("button", name="Mark no-show").click()
    expect(page.locator(".messagelist")).to_contain_text("no-show")
    expect(page.locator("#booking-history")).to_contain_text("no-show")

    # 3. The write-back goes out and sets the field on the one Event.
    deliveries_push(connection_id=sf_connection.pk)
    write_back = Delivery.objects.get(post=post, kind=Delivery.Kind.WRITE_BACK)
    assert write_back.status == Delivery.Status.SENT, write_back.last_error_message
    assert event(sf_emulator, post.event_id)["Meeting_Status__c"] == "No-show"
    page.goto(f"{live_server.url}/admin/integrations/delivery/{post.pk}/change/")
    expect(page.get_by_text("No-show", exact=False).first).to_be_visible()

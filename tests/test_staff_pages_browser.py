"""Issue 14's defects as a person meets them, in Chromium at 1280 px: the row link of a
failed delivery, the slug help text, the connection page's one banner and its button,
Disconnect asking first, and unanswered questions."""

import re

import pytest
from playwright.sync_api import expect

from bookings.models import Question
from integrations.models import SalesforceConnection
from tests.factories import (
    BookingFactory,
    DeliveryFactory,
    QuestionFactory,
    SalesforceConnectionFactory,
    failed_deliveries,
    lead_page_with_target,
)
from tests.integrations.mappings.test_browser import sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def browser_context_args() -> dict:
    return {"locale": "en-GB", "viewport": {"width": 1280, "height": 900}}


def test_a_failed_delivery_opens_from_its_row(live_server, page, tenant_a, admin_a):
    SalesforceConnectionFactory(tenant=tenant_a)
    booking_page = lead_page_with_target(tenant=tenant_a)
    [delivery] = failed_deliveries(booking_page, 1)
    sign_in(page, live_server, admin_a)
    page.goto(f"{live_server.url}/admin/integrations/delivery/?status__exact=failed")
    page.locator("#result_list tbody tr").first.locator("th a").click()
    expect(page).to_have_url(
        re.compile(rf"{live_server.url}/admin/integrations/delivery/{delivery.pk}/change/")
    )
    expect(page.locator("#delivery-status")).to_contain_text("Failed")


def test_the_slug_help_shows_the_address_pattern(live_server, page, tenant_a, admin_a):
    sign_in(page, live_server, admin_a)
    page.goto(f"{live_server.url}/admin/bookings/bookingpage/add/")
    expect(page.locator("#id_slug_helptext")).to_have_text(
        "The end of the page's public address: /<tenant>/<slug>/."
    )


def test_connection_page_shows_one_banner_names_its_button_and_asks_before_disconnecting(
    live_server, page, tenant_a, admin_a
):
    connection = SalesforceConnectionFactory(
        tenant=tenant_a, status=SalesforceConnection.Status.NEEDS_RECONNECT,
        last_error_code="OAUTH_APP_BLOCKED", last_error_message="app blocked",
    )  # fmt: skip
    sign_in(page, live_server, admin_a)
    url = f"{live_server.url}/admin/integrations/salesforceconnection/{connection.pk}/change/"
    page.goto(url)
    expect(page.locator(".salesforce-reconnect-banner")).to_have_count(0)
    expect(page.locator("#sf-diagnosis")).to_contain_text("click “Connect Salesforce”")
    expect(page.locator("#sf-connect")).to_have_text("Connect Salesforce")

    page.get_by_role("link", name="Disconnect…").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Disconnect Salesforce")
    page.get_by_role("link", name="No, keep it connected").click()
    expect(page).to_have_url(url)
    connection.refresh_from_db()
    assert connection.has_tokens


def test_an_unanswered_question_reads_not_answered(live_server, page, tenant_a, admin_a):
    booking_page = lead_page_with_target(tenant=tenant_a)
    QuestionFactory(page=booking_page, key="budget", label="Budget", kind=Question.Kind.TEXT)
    booking = BookingFactory(page=booking_page, answers={"company": "Acme", "budget": None})
    delivery = DeliveryFactory(booking=booking, target=booking_page.sync_targets.get())
    sign_in(page, live_server, admin_a)
    page.goto(f"{live_server.url}/admin/integrations/delivery/{delivery.pk}/change/")
    row = page.locator("#booking-answers tr", has_text="Budget")
    expect(row).to_contain_text("Not answered")
    expect(page.locator("#booking-answers")).not_to_contain_text("None")

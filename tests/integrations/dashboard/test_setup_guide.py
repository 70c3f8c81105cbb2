"""The guided setup on the admin home, walked in Chromium by a new tenant's admin: connect
Salesforce (the emulator's consent page) → create a booking page → map it → send a test
booking that a real worker delivers to the emulator → live, with the embed snippet.
Full-page screenshots of each step at 1280 px and 390 px are saved under
var/test-artifacts/screenshots/setup-*.png."""

from pathlib import Path
from urllib.parse import urlsplit

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from bookings.models import BookingPage
from integrations.dashboard.onboarding import TEST_GUEST_EMAIL
from integrations.models import Delivery, SalesforceConnection
from tests.fixtures_emulator import emulator_admin
from tests.integrations.conftest import emulator_host
from tests.integrations.mappings.test_browser import sign_in

pytestmark = [pytest.mark.browser, pytest.mark.worker, pytest.mark.django_db(transaction=True)]
ARTIFACTS = Path(__file__).resolve().parents[3] / "var" / "test-artifacts" / "screenshots"


@pytest.fixture
def browser_context_args() -> dict:
    return {
        "locale": "en-GB",
        "viewport": {"width": 1280, "height": 900},
        "ignore_https_errors": True,
    }  # fmt: skip  (the emulator's own CA)


def shoot(page, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    for width in (1280, 390):
        page.set_viewport_size({"width": width, "height": 900})
        page.screenshot(path=str(ARTIFACTS / f"setup-{name}-{width}.png"), full_page=True)
    page.set_viewport_size({"width": 1280, "height": 900})


def step(page, key: str):
    return page.locator(f"#step-{key}")


def test_a_new_tenant_walks_the_guided_setup_to_live(
    live_server, page, tenant_a, admin_a, sf_settings, sf_emulator, pipeline_worker, pipeline_queue
):
    # Salesforce sends the browser back to the Connected App's callback (the deployment's
    # SITE_URL); here that is the live server.
    callback = urlsplit(sf_settings.SITE_URL)
    page.route(
        f"{sf_settings.SITE_URL}/salesforce/oauth/callback/**",
        lambda route: route.fulfill(
            status=302,
            headers={"Location": live_server.url + route.request.url[len(sf_settings.SITE_URL) :]},
        ),
    )
    assert callback.scheme == "http"
    sign_in(page, live_server, admin_a)
    page.goto(f"{live_server.url}/admin/")
    expect(page.locator("#setup h2")).to_contain_text("Get Acme live")
    expect(step(page, "connect")).to_have_attribute("data-state", "todo")
    expect(step(page, "test")).to_contain_text("Possible once the steps above are done.")
    shoot(page, "1-fresh")

    # 1. Connect Salesforce
    step(page, "connect").get_by_role("link", name="Add the connection").click()
    page.get_by_role("button", name="Save", exact=True).click()
    page.locator("#sf-connect").click()
    page.get_by_label("My Domain").check()
    page.locator("input[name='custom_host']").fill(emulator_host(sf_emulator))
    page.get_by_role("button", name="Continue to Salesforce").click()
    page.get_by_role("button", name="Allow").click()
    expect(page.locator(".messagelist")).to_contain_text("Salesforce is connected.")
    assert SalesforceConnection.objects.get().is_connected
    page.goto(f"{live_server.url}/admin/")
    expect(step(page, "connect")).to_have_attribute("data-state", "done")
    shoot(page, "2-connected")

    # 2. A booking page with a required question
    step(page, "page").get_by_role("link", name="Create a booking page").click()
    page.get_by_label("Title").fill("Intro call")
    page.locator("#questions-group .add-row a").click()
    page.locator("input[name='questions-0-key']").fill("company")
    page.locator("input[name='questions-0-label']").fill("Company")
    page.locator("input[name='questions-0-required']").check()
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.locator(".messagelist")).to_contain_text("was added successfully")
    booking_page = BookingPage.objects.get()
    page.goto(f"{live_server.url}/admin/")
    expect(step(page, "page")).to_have_attribute("data-state", "done")
    expect(step(page, "map")).to_have_attribute("data-state", "todo")
    shoot(page, "3-page")

    # 3. Map it: the fields are read from Salesforce, posting is on, the key field chosen
    step(page, "map").get_by_role("link", name="Map the page").click()
    page.locator("#refresh-fields").click()
    expect(page.locator("#schema-status")).to_contain_text("Fields of Lead")
    expect(page.locator("#id_enabled")).to_be_checked()
    for index, (field, kind, key, constant) in enumerate([
        ("LastName", "booking", "guest_last_name", ""),
        ("Company", "question", "company", ""),
        ("Email", "booking", "guest_email", ""),
        ("Region__c", "constant", "", "EMEA"),
    ]):  # fmt: skip
        if page.locator(f"select[name='mappings-{index}-sf_field']").count() == 0:
            page.locator("#mappings-group .add-row a").click()
        page.locator(f"select[name='mappings-{index}-sf_field']").select_option(field)
        page.locator(f"select[name='mappings-{index}-source_kind']").select_option(kind)
        if key:
            page.locator(f"select[name='mappings-{index}-source_key']").select_option(key)
        if constant:
            page.locator(f"input[name='mappings-{index}-constant_value']").fill(constant)
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.locator(".messagelist")).to_contain_text("was added successfully")
    page.goto(f"{live_server.url}/admin/")
    expect(step(page, "map")).to_have_attribute("data-state", "done")
    shoot(page, "4-mapped")

    # 4. A test booking, delivered by the worker; the page follows it until it is sent
    page.get_by_role("button", name="Send a test booking").click()
    expect(page.locator(".messagelist")).to_contain_text("Test booking made")
    expect(step(page, "test")).to_have_attribute("data-state", "done", timeout=30_000)
    delivery = Delivery.objects.get(booking__page=booking_page)
    assert delivery.status == Delivery.Status.SENT
    leads = [
        r for r in emulator_admin(sf_emulator, "GET", "records/Lead")
        if r.get("Email") == TEST_GUEST_EMAIL
    ]  # fmt: skip
    assert [lead["Id"] for lead in leads] == [delivery.sf_record_id]
    expect(step(page, "test")).to_contain_text(delivery.sf_record_id)
    expect(page.locator("#test-record-link")).to_have_attribute(
        "href", f"{sf_emulator.base_url}/{delivery.sf_record_id}"
    )

    # 5. Live, with the snippet for the tenant's own site
    expect(page.locator("#setup h2")).to_contain_text("Acme is live")
    expect(step(page, "live")).to_have_attribute("data-state", "done")
    expect(page.locator(f"#embed-inline-{booking_page.pk}")).to_contain_text("data-leadsync-page")
    expect(page.locator(f"#embed-popup-{booking_page.pk}")).to_contain_text("data-leadsync-popup")
    shoot(page, "5-live")
    assert reverse("admin:index") in page.url

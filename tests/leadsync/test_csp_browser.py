"""The production Content-Security-Policy, in a real Chromium: staff sign in and use the
admin, the mapping pages and the dashboard, a guest books on the public page, and not one
script, style or image is refused. Every page refuses to be framed."""

import pytest
from playwright.sync_api import expect

from bookings.models import ApiKey
from integrations.models import SyncTarget
from tests.factories import (
    FieldMappingFactory,
    ResendJobFactory,
    SalesforceConnectionFactory,
    SObjectSchemaFactory,
    UserFactory,
    failed_deliveries,
    lead_page_with_target,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "correct-horse-battery-staple-42"

# Records every refusal on the page, from the first script on (set before each document).
RECORD_VIOLATIONS = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (e) => {
  window.__cspViolations.push(`${e.effectiveDirective} blocked ${e.blockedURI || "inline"}`
    + ` at ${e.sourceFile}:${e.lineNumber}`);
});
"""


@pytest.fixture
def production_csp(settings):
    """The policy production enforces (with DEBUG, settings only report it)."""
    policy = settings.CONTENT_SECURITY_POLICY or settings.CONTENT_SECURITY_POLICY_REPORT_ONLY
    settings.CONTENT_SECURITY_POLICY = policy
    settings.CONTENT_SECURITY_POLICY_REPORT_ONLY = None
    return policy


@pytest.fixture
def browser_context_args() -> dict:
    return {"locale": "en-GB", "timezone_id": "America/New_York",
            "viewport": {"width": 1280, "height": 900}}  # fmt: skip


@pytest.fixture
def watched(page):
    """The page, recording CSP violations (DOM events) and CSP console errors."""
    page.context.add_init_script(RECORD_VIOLATIONS)
    page.console_errors = []
    page.on(
        "console",
        lambda msg: "Content Security Policy" in msg.text and page.console_errors.append(msg.text),
    )
    return page


def visit(page, url: str, *, expect_heading: str | None = None):
    """Open `url`, check its CSP and framing headers, and that nothing was refused."""
    response = page.goto(url)
    assert response.ok, (url, response.status)
    return check(page, response, expect_heading=expect_heading)


def check(page, response, *, expect_heading: str | None = None):
    headers = response.all_headers()
    policy = headers.get("content-security-policy", "")
    assert "frame-ancestors 'none'" in policy, (page.url, headers)
    assert "'unsafe-inline'" not in policy
    assert headers.get("x-frame-options") == "DENY", page.url
    if expect_heading:
        expect(page.get_by_role("heading", name=expect_heading).first).to_be_visible()
    page.wait_for_load_state("load")
    violations = page.evaluate("window.__cspViolations")
    assert violations == [], (page.url, violations)
    assert page.console_errors == [], (page.url, page.console_errors)
    return response


def test_admin_mapping_pages_and_public_page_work_under_the_production_csp(
    live_server, watched, production_csp, tenant_a
):
    page = watched
    base = live_server.url
    staff = UserFactory(username="root", is_staff=True, is_superuser=True)
    staff.set_password(PASSWORD)
    staff.save()
    booking_page = lead_page_with_target(tenant=tenant_a, slug="intro")
    target = SyncTarget.objects.get(page=booking_page)
    connection = SalesforceConnectionFactory(tenant=tenant_a)
    SObjectSchemaFactory(connection=connection)
    FieldMappingFactory(target=target, sf_field="Rating", constant_value="Hot")
    [delivery] = failed_deliveries(booking_page, 1)
    job = ResendJobFactory(tenant=tenant_a, status="running", total=10)

    # Staff: the login page (allauth's), then the admin.
    visit(page, f"{base}/admin/")  # redirected to the login form
    page.locator("input[name=login]").fill("root")
    page.locator("input[name=password]").fill(PASSWORD)
    with page.expect_navigation() as navigation:
        page.locator("form button[type=submit]").click()
    check(page, navigation.value, expect_heading="Bookings to Salesforce")
    assert page.url == f"{base}/admin/"
    assert page.locator("#header").evaluate("h => getComputedStyle(h).display") == "flex"

    visit(page, f"{base}/admin/bookings/bookingpage/{booking_page.pk}/change/")
    visit(page, f"{base}/admin/bookings/bookingpage/add/")
    page.locator("#id_title").press_sequentially("Second call")
    expect(page.locator("#id_slug")).to_have_value("second-call")  # prepopulated by JS
    visit(page, f"{base}/admin/bookings/booking/")
    visit(page, f"{base}/admin/bookings/booking/{delivery.booking_id}/change/")

    # The mapping pages: the picklist script runs (a nonce'd inline script).
    visit(page, f"{base}/admin/integrations/synctarget/{target.pk}/change/")
    expect(page.locator("#picklist-Meeting_Type__c")).to_be_attached()
    visit(page, f"{base}/admin/integrations/synctarget/{target.pk}/preview/?sample=1")
    visit(page, f"{base}/admin/integrations/salesforceconnection/{connection.pk}/change/")
    connect = page.locator("#sf-connect")
    assert connect.evaluate("a => getComputedStyle(a.parentElement).display") == "flex"

    # The dashboard, a delivery, a resend job in progress, a new API key.
    visit(page, f"{base}/admin/integrations/delivery/summary/")
    visit(page, f"{base}/admin/integrations/delivery/{delivery.pk}/change/")
    visit(page, f"{base}/admin/integrations/resendjob/{job.pk}/change/")
    bar = page.locator("progress")
    assert bar.evaluate("p => getComputedStyle(p).width") == bar.evaluate(
        "p => getComputedStyle(p.parentElement).width"
    )
    visit(page, f"{base}/admin/bookings/apikey/add/")
    page.get_by_label("Tenant").select_option(str(tenant_a.pk))
    page.get_by_label("Name").fill("website")
    with page.expect_navigation() as navigation:
        page.get_by_role("button", name="Save", exact=True).click()
    check(page, navigation.value)
    secret = page.locator("#api-key-secret")
    secret.focus()
    assert secret.evaluate("i => i.selectionEnd - i.selectionStart") == len(secret.input_value())
    assert ApiKey.objects.filter(name="website").exists()

    # A guest: the zone-detecting script, the error summary's focus script, the booking.
    page.context.clear_cookies()
    url = f"{base}{booking_page.get_absolute_url()}?LeadSource=Web"
    visit(page, url)
    expect(page.get_by_label("Time zone")).to_have_value("America/New_York")
    assert page.locator(".hp").evaluate("e => getComputedStyle(e).position") == "absolute"
    page.get_by_label("Your name").fill("Ann Lee")
    with page.expect_navigation() as navigation:
        page.get_by_role("button", name="Book this time").click()
    check(page, navigation.value)
    expect(page.locator("#error-summary")).to_be_focused()
    # A time button of the day (the last: late in the day the first free day may have one).
    page.locator("input[name=slot] + label").last.click()
    page.get_by_label("Your email").fill("ann@example.com")
    page.get_by_label("Company").fill("Acme")
    with page.expect_navigation() as navigation:
        page.get_by_role("button", name="Book this time").click()
    check(page, navigation.value, expect_heading="You're booked")

    # The guest's manage page, from the confirmation's link: its own stylesheet loads, and
    # the picker's script fetches the token's JSON (the status line is only the script's).
    with page.expect_navigation() as navigation:
        page.get_by_role("link", name="Cancel or move this meeting").click()
    check(page, navigation.value, expect_heading="Your booking")
    section = page.locator(".manage-section").first
    assert section.evaluate("e => getComputedStyle(e).borderTopStyle") == "solid"
    page.locator("a.day.free").first.click()
    expect(page.locator("[data-status]")).to_contain_text("free time")

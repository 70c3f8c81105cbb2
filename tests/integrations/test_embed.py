"""The booking page on the tenant's own site (issue 14): the snippet frames it on another
origin, passes the host page's URL parameters through to the mappings, resizes it, and
only the origins the tenant lists may frame it."""

import html
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.template.loader import render_to_string
from django.templatetags.static import static
from playwright.sync_api import expect

from bookings.models import Booking
from integrations.delivery.push import deliveries_push
from integrations.mappings import services as mappings
from tests.factories import lead_page_with_target
from tests.fixtures_emulator import emulator_admin

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def browser_context_args() -> dict:
    return {"locale": "en-GB", "viewport": {"width": 1280, "height": 900}}


class HostSite:
    """A plain HTML page served on its own loopback origin (the tenant's website)."""

    def __init__(self, body: str) -> None:
        page = f"<!doctype html><html lang='en'><head><title>Acme</title></head><body>" \
               f"<h1>Acme Ltd</h1>{body}</body></html>".encode()  # fmt: skip

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.end_headers()
                self.wfile.write(page)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.origin = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()


def snippet(live_server, page, kind: str) -> str:
    """The copy-paste snippet as the guided setup shows it."""
    rendered = render_to_string(
        "integrations/embed_snippet.html",
        {"page": page, "site_url": live_server.url, "embed_script": static("leadsync/embed.js")},
    )
    found = re.search(rf'id="embed-{kind}-{page.pk}"[^>]*>(.*?)</textarea>', rendered, re.S)
    return html.unescape(found.group(1))


def test_embedded_page_books_with_the_host_pages_url_parameters(
    live_server, page, sf_emulator, sf_connection
):
    booking_page = lead_page_with_target(tenant=sf_connection.tenant)
    mappings.schema_refresh(connection=sf_connection, sobject="Lead")
    site = HostSite(snippet(live_server, booking_page, "inline"))
    tenant = booking_page.tenant
    tenant.embed_origins = f"{site.origin}\nhttps://www.acme.example"
    tenant.save()
    try:
        page.goto(f"{site.origin}/landing?utm_source=ads&LeadSource=Web")
        frame = page.frame_locator("iframe[data-leadsync]")
        # The calendar picker: its first free day is chosen; a time is its button (label).
        time = frame.locator("input[name=slot] + label").last  # the day may have one left
        expect(time).to_be_visible()
        # The frame grew to its content (the page told the host its height).
        height = page.locator("iframe[data-leadsync]").evaluate("f => f.style.height")
        assert height.endswith("px") and int(height[:-2]) > 480

        time.click()
        frame.get_by_label("Your name").fill("Ann Lee")
        frame.get_by_label("Your email").fill("ann@example.com")
        frame.get_by_label("Company").fill("Acme")
        frame.get_by_role("button", name="Book this time").click()
        expect(frame.get_by_role("heading", level=1)).to_contain_text("booked", ignore_case=True)
    finally:
        site.close()

    booking = Booking.objects.get()
    assert booking.url_params == {"utm_source": "ads", "LeadSource": "Web"}
    deliveries_push(connection_id=sf_connection.pk)
    [lead] = [
        r for r in emulator_admin(sf_emulator, "GET", "records/Lead")
        if r.get("Email") == "ann@example.com"
    ]  # fmt: skip
    assert lead["LeadSource"] == "Web" and lead["Company"] == "Acme"


def test_a_site_the_tenant_did_not_list_cannot_show_the_page(live_server, page, tenant_a):
    booking_page = lead_page_with_target(tenant=tenant_a)
    tenant_a.embed_origins = "https://www.acme.example"
    tenant_a.save()
    site = HostSite(snippet(live_server, booking_page, "inline"))
    try:
        with page.expect_response(lambda r: "leadsync_embed=1" in r.url) as answer:
            page.goto(f"{site.origin}/landing?utm_source=ads")
        assert answer.value.headers["content-security-policy"] == (
            "frame-ancestors https://www.acme.example"
        )
        page.wait_for_timeout(500)
        frame = page.frame_locator("iframe[data-leadsync]")
        expect(frame.locator("#booking-form")).to_have_count(0)
    finally:
        site.close()


def test_only_the_embedded_variant_may_be_framed(client, tenant_a):
    booking_page = lead_page_with_target(tenant=tenant_a)
    tenant_a.embed_origins = "https://www.acme.example"
    tenant_a.save()
    url = booking_page.get_absolute_url()
    plain = client.get(url)
    assert plain["X-Frame-Options"] == "DENY"
    embedded = client.get(url + "?leadsync_embed=1")
    assert "X-Frame-Options" not in embedded
    assert embedded["Content-Security-Policy"] == "frame-ancestors https://www.acme.example"
    assert client.get("/admin/login/")["X-Frame-Options"] == "DENY"


def test_in_production_the_embedded_page_keeps_the_whole_policy_with_its_framers(
    client, tenant_a, settings
):
    """The enforced policy is not replaced by a bare frame-ancestors header: scripts,
    styles and forms stay restricted; only who may frame the page changes."""
    settings.CONTENT_SECURITY_POLICY = settings.CONTENT_SECURITY_POLICY_REPORT_ONLY
    settings.CONTENT_SECURITY_POLICY_REPORT_ONLY = None
    booking_page = lead_page_with_target(tenant=tenant_a)
    tenant_a.embed_origins = "https://www.acme.example"
    tenant_a.save()
    url = booking_page.get_absolute_url()

    embedded = client.get(url + "?leadsync_embed=1")["Content-Security-Policy"]
    plain = client.get(url)["Content-Security-Policy"]

    assert "frame-ancestors https://www.acme.example" in embedded
    assert "script-src 'self' 'nonce-" in embedded and "form-action 'self'" in embedded
    assert "frame-ancestors 'none'" in plain

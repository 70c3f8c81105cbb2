"""In Chromium: an admin opens "Failed posts", follows a cause to the list filtered by its
error code, resends with the current mapping, and sees the booking reach Salesforce (a
real worker pushes it to the emulator)."""

import re

import pytest
from django.conf import settings
from playwright.sync_api import expect

from integrations.delivery.push import deliveries_push
from integrations.models import Delivery, FieldMapping
from tests.conftest import wait_until
from tests.factories import BookingFactory, FieldMappingFactory, lead_page_with_target
from tests.fixtures_emulator import emulator_admin

pytestmark = [pytest.mark.browser, pytest.mark.worker, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def browser_context_args() -> dict:
    return {"locale": "en-GB", "viewport": {"width": 1400, "height": 1000}}


def log_in(page, live_server, client, user) -> None:
    client.force_login(user, backend="django.contrib.auth.backends.ModelBackend")
    cookie = client.cookies[settings.SESSION_COOKIE_NAME].value
    page.context.add_cookies(
        [{"name": settings.SESSION_COOKIE_NAME, "value": cookie, "url": live_server.url}]
    )


def test_admin_filters_by_error_code_resends_and_sees_the_status_change(
    live_server, page, client, admin_a, sf_emulator, sf_connection, pipeline_worker, pipeline_queue
):
    booking_page = lead_page_with_target(tenant=sf_connection.tenant)
    target = booking_page.sync_targets.get()
    FieldMapping.objects.filter(target=target, sf_field="Company").delete()  # the mistake
    booking = BookingFactory(page=booking_page, guest_name="Ann Lee", answers={"company": "Acme"})
    delivery = Delivery.objects.create(
        booking=booking, target=target, connection=sf_connection, sobject="Lead",
        next_attempt_at=booking.created_at,
    )  # fmt: skip
    deliveries_push(connection_id=sf_connection.pk)
    delivery.refresh_from_db()
    assert delivery.status == Delivery.Status.FAILED
    log_in(page, live_server, client, admin_a)

    page.goto(f"{live_server.url}/admin/")
    page.get_by_role("link", name="Failed posts").first.click()
    expect(page.get_by_role("heading", name="Failed posts")).to_be_visible()
    expect(page.locator("#count-failed")).to_contain_text("1")
    cause = page.locator("tr.cause")
    expect(cause).to_contain_text("REQUIRED_FIELD_MISSING")
    expect(cause).to_contain_text("Map Company to a required question or a constant")
    # Staff follow the advice on the mapping page (tested with the mapping admin).
    FieldMappingFactory(
        target=target, sf_field="Company", source_kind="question", source_key="company"
    )

    cause.get_by_role("link", name="1").click()  # the list, filtered by this error code
    expect(page).to_have_url(re.compile(r"code=REQUIRED_FIELD_MISSING"))
    row = page.locator("#result_list tbody tr")
    expect(row).to_have_count(1)
    expect(row).to_contain_text(booking.guest_email)
    expect(row).to_contain_text("Failed")

    row.locator("input.action-select").check()
    page.locator("select[name=action]").select_option("resend_rebuilt")
    page.get_by_role("button", name="Go").click()
    expect(page.locator(".messagelist")).to_contain_text(
        "1 delivery queued to resend with the current mapping."
    )

    wait_until(
        lambda: Delivery.objects.filter(pk=delivery.pk, status=Delivery.Status.SENT).exists(),
        timeout=30,
        message="the worker to send the resent delivery",
    )
    page.goto(f"{live_server.url}/admin/integrations/delivery/?q={booking.uid}")
    expect(page.locator("#result_list tbody tr")).to_contain_text("Sent")
    [lead] = emulator_admin(sf_emulator, "GET", "records/Lead?seeded=false")
    assert lead["Company"] == "Acme"

"""One-click fixes on the mapping page that keep what staff typed (issue 14, defects 4, 13
and 14), in Chromium."""

import pytest
from playwright.sync_api import expect

from bookings.models import Question
from integrations.models import FieldMapping, SyncTarget
from tests.factories import (
    BookingPageFactory,
    QuestionFactory,
    SalesforceConnectionFactory,
    SObjectSchemaFactory,
    lead_page_with_target,
)
from tests.integrations.mappings.test_browser import sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def browser_context_args() -> dict:
    return {"locale": "en-GB", "viewport": {"width": 1280, "height": 900}}


def fill_row(page, index: int, sf_field: str, kind: str, key: str = "", constant: str = ""):
    if page.locator(f"select[name='mappings-{index}-sf_field']").count() == 0:
        page.locator("#mappings-group .add-row a").click()
    page.locator(f"select[name='mappings-{index}-sf_field']").select_option(sf_field)
    page.locator(f"select[name='mappings-{index}-source_kind']").select_option(kind)
    if key:
        page.locator(f"select[name='mappings-{index}-source_key']").select_option(key)
    if constant:
        page.locator(f"input[name='mappings-{index}-constant_value']").fill(constant)


def test_new_target_starts_posting_with_the_only_key_field_and_keeps_rows_after_a_fix(
    live_server, page, tenant_a, admin_a
):
    SObjectSchemaFactory(connection=SalesforceConnectionFactory(tenant=tenant_a))
    booking_page = BookingPageFactory(tenant=tenant_a, title="Intro call")
    company = QuestionFactory(page=booking_page, key="company", label="Company", required=False)
    sign_in(page, live_server, admin_a)

    page.goto(f"{live_server.url}/admin/integrations/synctarget/add/?page={booking_page.pk}")
    # Defect 14: posting on, and the org's one external-ID field chosen already.
    expect(page.locator("#id_enabled")).to_be_checked()
    expect(page.locator("select[name='key_field']")).to_have_value("LeadSync_Booking_Id__c")

    fill_row(page, 0, "LastName", "booking", key="guest_last_name")
    fill_row(page, 1, "Company", "question", key="company")
    fill_row(page, 2, "Region__c", "constant", constant="EMEA")
    page.get_by_role("button", name="Save", exact=True).click()
    fix = page.get_by_role("button", name="Make question “Company” required")
    expect(fix).to_be_visible()

    fix.click()  # defect 4: the unsaved form keeps its rows and its tick
    expect(page.locator(".mapping-fixed")).to_contain_text("is now required")
    expect(page.locator("#id_enabled")).to_be_checked()
    expect(page.locator("select[name='mappings-1-sf_field']")).to_have_value("Company")
    expect(page.locator("input[name='mappings-2-constant_value']")).to_have_value("EMEA")
    company.refresh_from_db()
    assert company.required

    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.locator(".messagelist")).to_contain_text("was added successfully")
    target = SyncTarget.objects.get()
    assert target.enabled and target.key_field == "LeadSync_Booking_Id__c"
    assert sorted(target.mappings.values_list("sf_field", flat=True)) == [
        "Company", "LastName", "Region__c",
    ]  # fmt: skip


def test_a_booking_fact_too_long_for_its_field_is_fixed_by_accepting_truncation(
    live_server, page, tenant_a, admin_a
):
    SObjectSchemaFactory(connection=SalesforceConnectionFactory(tenant=tenant_a))
    target = lead_page_with_target(tenant=tenant_a).sync_targets.get()
    sign_in(page, live_server, admin_a)

    page.goto(f"{live_server.url}/admin/integrations/synctarget/{target.pk}/change/")
    warning = page.locator("#mapping-warnings li", has_text="FirstName")
    expect(warning).to_contain_text("Accept truncation on this mapping")
    expect(warning).not_to_contain_text("Limit booking fact")  # no setting can do that

    warning.get_by_role("button", name="Accept truncation and save").click()
    expect(page.locator(".messagelist")).to_contain_text("was changed successfully")
    assert FieldMapping.objects.get(target=target, sf_field="FirstName").accept_truncation
    expect(page.locator("#mapping-warnings li", has_text="FirstName")).to_have_count(0)
    assert Question.objects.get(key="company").required  # nothing else changed

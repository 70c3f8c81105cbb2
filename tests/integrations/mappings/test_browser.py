"""Staff map Salesforce fields in a real Chromium: the picker lists only insertable fields,
and a save that leaves a required field unmapped is refused with the field named."""

import pytest
from django.conf import settings
from django.test import Client
from playwright.sync_api import expect

from integrations.models import SyncTarget
from integrations.salesforce import schema as sf_schema
from tests.factories import (
    BookingPageFactory,
    QuestionFactory,
    SalesforceConnectionFactory,
    SObjectSchemaFactory,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def browser_context_args() -> dict:
    return {"locale": "en-GB", "viewport": {"width": 1280, "height": 900}}


def sign_in(page, live_server, user) -> None:
    """Give the browser a session of `user` (the login form has its own tests)."""
    client = Client()
    client.force_login(user, backend="django.contrib.auth.backends.ModelBackend")
    cookie = client.cookies[settings.SESSION_COOKIE_NAME]
    page.context.add_cookies([{"name": cookie.key, "value": cookie.value, "url": live_server.url}])


def test_staff_pick_only_insertable_fields_and_see_rule_5_refusal(
    live_server, page, tenant_a, admin_a
):
    schema = SObjectSchemaFactory(connection=SalesforceConnectionFactory(tenant=tenant_a))
    booking_page = BookingPageFactory(tenant=tenant_a, title="Intro call")
    QuestionFactory(page=booking_page, key="company", label="Company", required=True)
    sign_in(page, live_server, admin_a)

    page.goto(f"{live_server.url}/admin/integrations/synctarget/add/?page={booking_page.pk}")
    picker = page.locator("select[name='mappings-0-sf_field']")
    offered = [v for v in picker.locator("option").evaluate_all("os => os.map(o => o.value)") if v]
    assert offered == [f.name for f in sf_schema.insertable_fields(schema.describe, updating=True)]
    assert not {"Name", "IsConverted", "CreatedDate", "Id"} & set(offered)
    key_options = page.locator("select[name='key_field'] option").evaluate_all(
        "os => os.map(o => o.value)"
    )
    assert key_options == ["", "LeadSync_Booking_Id__c"]

    # The constant of a picklist field is offered the field's active values.
    picker.select_option("Meeting_Type__c")
    constant = page.locator("input[name='mappings-0-constant_value']")
    expect(constant).to_have_attribute("list", "picklist-Meeting_Type__c")
    values = page.locator("#picklist-Meeting_Type__c option").evaluate_all(
        "os => os.map(o => o.value)"
    )
    assert values == ["Demo", "Consultation", "Support"]

    picker.select_option("Company")
    page.locator("select[name='mappings-0-source_kind']").select_option("question")
    page.locator("select[name='mappings-0-source_key']").select_option("company")
    page.locator("select[name='key_field']").select_option("LeadSync_Booking_Id__c")
    page.get_by_role("button", name="Save", exact=True).click()

    errors = page.locator(".errorlist.nonform")
    expect(errors).to_contain_text(
        "Last Name (LastName) is required to create a Lead, and no mapping feeds it."
    )
    expect(errors).to_contain_text("Region (Region__c) is required to create a Lead")
    assert not SyncTarget.objects.exists()

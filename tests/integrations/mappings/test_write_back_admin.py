"""The write-back policy in the target admin: on cancel / reschedule, and the fields a
change sets — pickers offer only fields the connected user may UPDATE (cached describes of
the Event and the target's object), values are checked like mapping constants. Salesforce
is never called (see test_admin's autouse fixture)."""

import pytest

from integrations.models import SyncTarget, WriteBackField
from tests.factories import SObjectSchemaFactory
from tests.integrations.mappings import test_admin as base
from tests.integrations.mappings.test_admin import (
    ADD_URL,
    GOOD_ROWS,
    refused_messages,
    target_data,
)

# The mapping admin tests' fixtures: the Lead's describe cached, a page, no Salesforce.
lead_schema, page_a, no_salesforce = base.lead_schema, base.page_a, base.no_salesforce

pytestmark = pytest.mark.django_db


@pytest.fixture
def event_schema(lead_schema):
    return SObjectSchemaFactory(connection=lead_schema.connection, sobject="Event")


def with_rows(data: dict, rows: list[dict]) -> dict:
    data["write_back_fields-TOTAL_FORMS"] = len(rows)
    for index, row in enumerate(rows):
        for name, value in row.items():
            data[f"write_back_fields-{index}-{name}"] = value
    return data


def test_the_pickers_offer_only_updateable_fields(page_a, event_schema, admin_a, client_for):
    response = client_for(admin_a).get(f"{ADD_URL}?page={page_a.pk}&sobject=Lead")
    assert response.status_code == 200
    formset = next(
        f.formset
        for f in response.context["inline_admin_formsets"]
        if f.opts.model is WriteBackField
    )
    groups = dict(formset.forms[0].fields["sf_field"].choices[1:])
    event_fields = {name for name, _ in groups["The meeting (Event)"]}
    lead_fields = {name for name, _ in groups["The person (Lead)"]}
    assert "Meeting_Status__c" in event_fields and "ShowAs" in event_fields
    assert "Meeting_Status__c" in lead_fields and "Status" in lead_fields
    # Read-only, formula, system and reference fields never appear.
    assert not {"CreatedDate", "IsConverted", "OwnerId", "Id", "Name"} & lead_fields
    assert not {"CreatedDate", "IsRecurrence", "WhoId", "LastModifiedDate"} & event_fields
    reason = dict(response.context["adminform"].form.fields["cancel_reason_field"].choices)
    assert "Cancel_Reason__c" in reason and "Meeting_Status__c" not in reason


def test_a_valid_write_back_policy_is_saved(page_a, event_schema, admin_a, client_for):
    data = target_data(
        page_a, GOOD_ROWS, cancel_action="delete", cancel_subject_prefix="Cancelled: ",
        cancel_reason_field="Cancel_Reason__c", reschedule_action="move",
    )  # fmt: skip
    rows = [
        {"change": "cancelled", "applies_to": "person", "sf_field": "Meeting_Status__c",
         "value": "Cancelled"},
        {"change": "no_show", "applies_to": "event", "sf_field": "Meeting_Status__c",
         "value": "No-show"},
    ]  # fmt: skip
    response = client_for(admin_a).post(ADD_URL, with_rows(data, rows))

    assert response.status_code == 302, refused_messages(response)
    target = SyncTarget.objects.get(page=page_a)
    assert (target.cancel_action, target.cancel_reason_field) == ("delete", "Cancel_Reason__c")
    assert sorted(target.write_back_fields.values_list("change", "applies_to", "value")) == [
        ("cancelled", "person", "Cancelled"),
        ("no_show", "event", "No-show"),
    ]


@pytest.mark.parametrize(
    ("row", "expected"),
    [
        ({"applies_to": "event", "sf_field": "Meeting_Status__c", "value": "Gone"},
         "Gone is not a value of Meeting Status (Meeting_Status__c)"),
        ({"applies_to": "person", "sf_field": "IsConverted", "value": "true"},
         "IsConverted is not a field the connected user may update"),
        ({"applies_to": "event", "sf_field": "Cancel_Reason__c", "value": "x"},
         "Cancel_Reason__c is not a field of the Event the connected user may update"),
        ({"applies_to": "event", "sf_field": "IsPrivate", "value": "maybe"},
         "is a checkbox: enter true or false"),
    ],
)  # fmt: skip
def test_a_field_or_value_salesforce_would_refuse_is_refused(
    page_a, event_schema, admin_a, client_for, row, expected
):
    data = with_rows(target_data(page_a, GOOD_ROWS), [{"change": "cancelled", **row}])
    response = client_for(admin_a).post(ADD_URL, data)

    assert expected in refused_messages(response) or expected in str(
        response.context["inline_admin_formsets"][1].formset.errors
    )
    assert not SyncTarget.objects.exists()


def test_a_cancel_reason_field_that_is_not_updateable_text_is_refused(
    page_a, event_schema, admin_a, client_for
):
    data = target_data(page_a, GOOD_ROWS, cancel_reason_field="NumberOfEmployees")
    response = client_for(admin_a).post(ADD_URL, data)

    assert response.status_code == 200
    assert "NumberOfEmployees" in str(response.context["adminform"].form.errors)
    assert not SyncTarget.objects.exists()


def test_without_the_events_fields_loaded_the_picker_says_so(page_a, admin_a, client_for):
    data = with_rows(
        target_data(page_a, GOOD_ROWS),
        [{"change": "no_show", "applies_to": "event", "sf_field": "ShowAs", "value": "Free"}],
    )
    response = client_for(admin_a).post(ADD_URL, data)

    assert response.status_code == 200
    assert not SyncTarget.objects.exists()
    assert "The fields of Event are not loaded yet: press Refresh fields." in (
        response.content.decode()
    )

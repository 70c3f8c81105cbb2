"""The cached schema against the emulator over HTTPS: fetch on a miss, "Refresh fields",
the daily refresh and the hourly health check, and drift flagged before a booking fails."""

import pytest
from django.urls import reverse

from bookings.models import Question
from integrations.connection.tasks import connections_check_all
from integrations.mappings import services as mappings
from integrations.mappings.tasks import schemas_refresh_all
from integrations.models import SalesforceConnection, SObjectSchema, SyncTarget
from integrations.salesforce.errors import SalesforceError
from tests.factories import (
    BookingPageFactory,
    FieldMappingFactory,
    QuestionFactory,
    SalesforceConnectionFactory,
    SyncTargetFactory,
)
from tests.fixtures_emulator import emulator_admin
from tests.integrations.conftest import emulator_state

pytestmark = pytest.mark.django_db
KEY = "LeadSync_Booking_Id__c"


def describe_calls(server) -> int:
    return emulator_state(server)["api_calls"].get("describe", 0)


def schema_change(server, *operations) -> None:
    emulator_admin(server, "POST", "schema", list(operations))


@pytest.fixture
def target(sf_connection, tenant_a) -> SyncTarget:
    """Tenant A's Lead target, valid against the emulator org as it starts."""
    page = BookingPageFactory(tenant=tenant_a)
    QuestionFactory(page=page, key="company", required=True, max_length=100)
    QuestionFactory(
        page=page, key="topic", kind=Question.Kind.CHOICE, required=True,
        choices=["Demo", "Support"],
    )  # fmt: skip
    target = SyncTargetFactory(page=page)
    for sf_field, kind, key, constant in [
        ("LastName", "booking", "guest_last_name", ""),
        ("Company", "question", "company", ""),
        ("Region__c", "constant", "", "EMEA"),
        ("Phone", "url_param", "", ""),
        ("Meeting_Type__c", "question", "topic", ""),
    ]:
        FieldMappingFactory(
            target=target, sf_field=sf_field, source_kind=kind, source_key=key,
            constant_value=constant,
        )  # fmt: skip
    return target


def test_schema_get_fetches_once_then_reads_the_cache(sf_emulator, sf_connection):
    first = mappings.schema_get(connection=sf_connection, sobject="Lead")
    again = mappings.schema_get(connection=sf_connection, sobject="Lead")
    assert describe_calls(sf_emulator) == 1
    assert first == again
    assert {f["name"] for f in first["fields"]} >= {"LastName", KEY, "Region__c"}
    stored = SObjectSchema.objects.get(connection=sf_connection)
    assert stored.sobject == "Lead" and stored.describe == first


def test_the_push_keeps_a_describe_until_the_stored_one_changes(sf_emulator, sf_connection):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from django.utils import timezone

    first = mappings.schema_get_indexed(connection=sf_connection, sobject="Lead")
    assert describe_calls(sf_emulator) == 1
    assert first.field_index["LastName"].name == "LastName"
    with CaptureQueriesContext(connection) as queries:
        again = mappings.schema_get_indexed(connection=sf_connection, sobject="Lead")
    assert again is first  # neither read nor parsed again
    assert len(queries) == 1 and "describe" not in queries[0]["sql"]  # its version only

    mappings.schema_refresh(connection=sf_connection, sobject="Lead")  # stored anew
    fresh = mappings.schema_get_indexed(connection=sf_connection, sobject="Lead")
    assert fresh is not first and fresh == first
    assert fresh == SObjectSchema.objects.get(connection=sf_connection).describe

    SObjectSchema.objects.filter(connection=sf_connection).update(
        describe={**fresh, "fields": [f for f in fresh["fields"] if f["name"] != "Phone"]},
        fetched_at=timezone.now(),
    )  # stored by another process
    changed = mappings.schema_get_indexed(connection=sf_connection, sobject="Lead")
    assert "Phone" not in changed.field_index and "Phone" in fresh.field_index


def test_schema_of_an_unknown_object_is_refused_and_not_cached(sf_emulator, sf_connection):
    with pytest.raises(SalesforceError) as caught:
        mappings.schema_get(connection=sf_connection, sobject="Bogus__c")
    assert caught.value.code == "NOT_FOUND"
    assert not SObjectSchema.objects.exists()


def test_schema_is_stored_under_the_exact_api_name(sf_emulator, sf_connection):
    mappings.schema_refresh(connection=sf_connection, sobject="lead")
    assert list(SObjectSchema.objects.values_list("sobject", flat=True)) == ["Lead"]


def test_saved_mappings_have_no_problems_against_a_fresh_schema(sf_emulator, target):
    mappings.schema_refresh(connection=SalesforceConnection.objects.get(), sobject="Lead")
    target.refresh_from_db()
    assert target.problems == [] and target.checked_at is not None


@pytest.mark.parametrize(
    ("operation", "field", "code"),
    [
        ({"object": "Lead", "remove_field": "Region__c"}, "Region__c", "INVALID_FIELD"),
        ({"object": "Lead", "field": "Company", "set": {"createable": False}}, "Company",
         "INVALID_FIELD_FOR_INSERT_UPDATE"),
        ({"object": "Lead", "field": "Phone", "set": {"updateable": False}}, "Phone",
         "INVALID_FIELD_FOR_INSERT_UPDATE"),
        ({"object": "Lead", "field": "Title", "set": {"nillable": False}}, "Title",
         "REQUIRED_FIELD_MISSING"),
        ({"object": "Lead", "field": "Meeting_Type__c", "set": {"picklistValues": [
            {"active": True, "defaultValue": False, "label": "Demo", "validFor": None,
             "value": "Demo"}]}}, "Meeting_Type__c", "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST"),
    ],
    ids=["field-deleted", "read-only", "not-updateable-on-upsert", "became-required",
         "picklist-value-removed"],
)  # fmt: skip
def test_refresh_fields_flags_mappings_the_schema_broke(
    sf_emulator, target, admin_a, client_for, operation, field, code
):
    client = client_for(admin_a)
    change_url = reverse("admin:integrations_synctarget_change", args=[target.pk])
    mappings.schema_refresh(connection=SalesforceConnection.objects.get(), sobject="Lead")
    schema_change(sf_emulator, operation)

    response = client.post(
        reverse("admin:integrations_synctarget_refresh") + f"?next={change_url}",
        {"page": target.page_id, "sobject": "Lead"},
    )
    assert response.status_code == 302 and response["Location"] == change_url
    target.refresh_from_db()
    assert [(p["field"], p["code"]) for p in target.problems] == [(field, code)]

    page = client.get(change_url).content.decode()
    assert 'id="schema-problems"' in page and f"<strong>{field}</strong> ({code})" in page
    connection_page = client.get(
        reverse(
            "admin:integrations_salesforceconnection_change",
            args=[SalesforceConnection.objects.get().pk],
        )
    ).content.decode()
    assert "1 Salesforce target has mappings the last schema check found broken" in connection_page


def test_rendering_the_mapping_page_never_calls_salesforce(
    sf_emulator, target, admin_a, client_for
):
    mappings.schema_refresh(connection=SalesforceConnection.objects.get(), sobject="Lead")
    calls = emulator_state(sf_emulator)["api_calls"]
    client = client_for(admin_a)
    assert (
        client.get(reverse("admin:integrations_synctarget_change", args=[target.pk])).status_code
        == 200
    )
    assert client.get(reverse("admin:integrations_synctarget_add")).status_code == 200
    assert emulator_state(sf_emulator)["api_calls"] == calls


def test_field_made_required_is_fixed_in_one_click_from_the_flag(
    sf_emulator, target, admin_a, client_for
):
    QuestionFactory(page=target.page, key="job", required=False, max_length=128)  # fits Title
    FieldMappingFactory(target=target, sf_field="Title", source_kind="question", source_key="job")
    schema_change(sf_emulator, {"object": "Lead", "field": "Title", "set": {"nillable": False}})
    mappings.schema_refresh(connection=SalesforceConnection.objects.get(), sobject="Lead")
    target.refresh_from_db()
    assert [(p["field"], p["code"]) for p in target.problems] == [
        ("Title", "REQUIRED_FIELD_MAY_BE_BLANK")
    ]
    client = client_for(admin_a)
    change_url = reverse("admin:integrations_synctarget_change", args=[target.pk])
    job = target.page.questions.get(key="job")
    require_url = reverse("admin:integrations_synctarget_question_require", args=[job.pk])
    assert f'formaction="{require_url}?next=' in client.get(change_url).content.decode()
    client.post(require_url)
    job.refresh_from_db()
    assert job.required


def test_first_save_of_a_new_object_fetches_its_schema_once(
    sf_emulator, sf_connection, tenant_a, admin_a, client_for
):
    page = BookingPageFactory(tenant=tenant_a)
    response = client_for(admin_a).post(
        reverse("admin:integrations_synctarget_add"),
        {"page": page.pk, "sobject": "Bogus__c", "write_mode": "insert", "key_field": "",
         "mappings-TOTAL_FORMS": 0, "mappings-INITIAL_FORMS": 0},
    )  # fmt: skip
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors["sobject"]
    assert "Salesforce could not describe Bogus__c" in str(errors)
    assert describe_calls(sf_emulator) == 1
    assert not SyncTarget.objects.exists()


def test_daily_task_refreshes_every_mapped_object_and_flags_drift(sf_emulator, target):
    schema_change(sf_emulator, {"object": "Lead", "remove_field": "Region__c"})
    result = schemas_refresh_all.apply().get()
    assert result == {"refreshed": 1, "failed": 0}
    target.refresh_from_db()
    assert [(p["field"], p["code"]) for p in target.problems] == [("Region__c", "INVALID_FIELD")]
    assert describe_calls(sf_emulator) == 1


def test_daily_task_goes_on_past_an_org_that_refuses(sf_emulator, target, tenant_b):
    other = SalesforceConnectionFactory(tenant=tenant_b, instance_url="https://127.0.0.1:9")
    SyncTargetFactory(page=BookingPageFactory(tenant=tenant_b))
    report = mappings.schemas_refresh_all()
    assert report.refreshed == [
        (SalesforceConnection.objects.get(tenant=target.page.tenant).pk, "Lead")
    ]
    assert [(pk, sobject) for pk, sobject, _ in report.failed] == [(other.pk, "Lead")]


def test_hourly_task_checks_every_connected_connection(sf_emulator, sf_connection):
    assert sf_connection.checked_at is None
    assert connections_check_all.apply().get() == {"checked": 1, "failed": 0}
    sf_connection.refresh_from_db()
    assert sf_connection.checked_at is not None and sf_connection.sf_username


def test_hourly_task_marks_a_revoked_connection_for_reconnecting(sf_emulator, sf_connection):
    emulator_admin(sf_emulator, "POST", "revoke-all")
    assert connections_check_all.apply().get() == {"checked": 1, "failed": 1}
    sf_connection.refresh_from_db()
    assert sf_connection.status == SalesforceConnection.Status.NEEDS_RECONNECT

"""The Salesforce client against the emulator over HTTPS: calls, token refresh (once,
under the row lock, rotation, in-progress retries), usage recording, errors."""

import threading

import pytest
from django.db import connection as db_connection

from integrations.connection.tokens import client_for
from integrations.models import SalesforceConnection
from integrations.salesforce.errors import Kind, SalesforceError
from tests.fixtures_emulator import EMULATOR_SEED_REFRESH_TOKEN, emulator_admin
from tests.integrations.conftest import emulator_faults, emulator_state, token_calls

pytestmark = pytest.mark.django_db
EXPIRE = {"advance_seconds": 7300}  # past the emulator's 2 h access-token lifetime


def stored(connection) -> SalesforceConnection:
    return SalesforceConnection.objects.get(pk=connection.pk)


def test_first_call_refreshes_then_uses_the_stored_token(sf_connection, sf_emulator):
    client = client_for(sf_connection)

    describe = client.describe("Lead")
    client.describe("Contact")

    assert describe["name"] == "Lead"
    assert token_calls(sf_emulator) == 1
    assert emulator_state(sf_emulator)["api_calls"]["describe"] == 2
    fresh = stored(sf_connection)
    assert fresh.access_token and fresh.refresh_token == EMULATOR_SEED_REFRESH_TOKEN
    assert (fresh.api_usage, fresh.api_limit) == (2, 15000)  # Sforce-Limit-Info of the SFType


def test_expired_access_token_is_refreshed_once_and_the_call_succeeds(sf_connection, sf_emulator):
    client = client_for(sf_connection)
    client.query("SELECT Id FROM Lead")
    old_token = stored(sf_connection).access_token
    emulator_admin(sf_emulator, "POST", "clock", EXPIRE)

    result = client.create(
        "Lead", {"LastName": "Lovelace", "Company": "Analytical", "Region__c": "EU"}
    )

    assert result.success and result.id.startswith("00Q")
    assert token_calls(sf_emulator) == 2  # the first call's and exactly one more
    assert stored(sf_connection).access_token != old_token
    assert len(emulator_admin(sf_emulator, "GET", "records/Lead?seeded=false")) == 1


@pytest.mark.django_db(transaction=True)
def test_concurrent_expiry_in_two_threads_refreshes_once(sf_connection, sf_emulator):
    client_for(sf_connection).limits()
    emulator_admin(sf_emulator, "POST", "clock", EXPIRE)
    # Slow calls: both threads get their 401 before either refresh is done.
    emulator_faults(sf_emulator, latency_ms=300)
    results, errors = [], []
    barrier = threading.Barrier(2)

    def work():
        try:
            barrier.wait()
            client = client_for(SalesforceConnection.objects.get(pk=sf_connection.pk))
            results.append(client.describe("Lead")["name"])
        except Exception as exc:  # reported below
            errors.append(exc)
        finally:
            db_connection.close()

    threads = [threading.Thread(target=work) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert not errors, errors
    assert results == ["Lead", "Lead"]
    assert token_calls(sf_emulator) == 2  # the setup's refresh + ONE for both threads


def test_rotated_refresh_token_is_stored_and_works(sf_connection, sf_emulator):
    emulator_faults(sf_emulator, refresh_token_rotation=True)
    client_for(sf_connection).limits()
    rotated = stored(sf_connection).refresh_token
    assert rotated != EMULATOR_SEED_REFRESH_TOKEN

    emulator_admin(sf_emulator, "POST", "clock", EXPIRE)
    client_for(stored(sf_connection)).limits()

    assert token_calls(sf_emulator) == 2
    assert stored(sf_connection).refresh_token not in (rotated, EMULATOR_SEED_REFRESH_TOKEN)
    assert stored(sf_connection).status == SalesforceConnection.Status.CONNECTED


def test_token_request_already_being_processed_is_retried(sf_connection, sf_emulator):
    emulator_faults(sf_emulator, fail_next=["token_in_progress"])

    assert client_for(sf_connection).limits()["DailyApiRequests"]["Max"] == 15000

    assert token_calls(sf_emulator) == 2
    assert stored(sf_connection).status == SalesforceConnection.Status.CONNECTED


def test_revoked_refresh_token_marks_the_connection_needs_reconnect(sf_connection, sf_emulator):
    emulator_admin(sf_emulator, "POST", "revoke-all")

    with pytest.raises(SalesforceError) as caught:
        client_for(sf_connection).describe("Lead")

    assert caught.value.kind is Kind.CONNECTION
    assert (caught.value.code, caught.value.message) == (
        "invalid_grant",
        "expired access/refresh token",
    )
    fresh = stored(sf_connection)
    assert fresh.status == SalesforceConnection.Status.NEEDS_RECONNECT
    assert fresh.last_error_code == "invalid_grant"


def test_rest_errors_become_one_error_type(sf_connection, sf_emulator):
    client = client_for(sf_connection)

    with pytest.raises(SalesforceError) as missing:
        client.create("Lead", {"LastName": "No company"})
    emulator_faults(sf_emulator, fail_next=["503"])
    with pytest.raises(SalesforceError) as unavailable:
        client.query("SELECT Id FROM Lead")

    assert missing.value.kind is Kind.PERMANENT
    assert missing.value.code == "REQUIRED_FIELD_MISSING"
    assert "Company" in missing.value.fields and missing.value.http_status == 400
    assert unavailable.value.kind is Kind.TRANSIENT and unavailable.value.retryable
    assert unavailable.value.code == "SERVER_UNAVAILABLE"
    assert stored(sf_connection).status == SalesforceConnection.Status.CONNECTED


def test_upsert_by_external_id_creates_then_updates(sf_connection, sf_emulator):
    client = client_for(sf_connection)
    record = {"LastName": "Hopper", "Company": "Navy", "Region__c": "US"}

    first = client.upsert("Lead", "LeadSync_Booking_Id__c", "bk/1", record)
    second = client.upsert("Lead", "LeadSync_Booking_Id__c", "bk/1", {**record, "Company": "Yale"})

    assert first.created is True and second.created is False and first.id == second.id
    rows = emulator_admin(sf_emulator, "GET", "records/Lead?seeded=false")
    assert [(r["LeadSync_Booking_Id__c"], r["Company"]) for r in rows] == [("bk/1", "Yale")]


def test_collection_upsert_reports_each_record(sf_connection, sf_emulator):
    client = client_for(sf_connection)
    records = [
        {"attributes": {"type": "Lead"}, "LeadSync_Booking_Id__c": "a", "LastName": "A",
         "Company": "X", "Region__c": "EU"},
        {"attributes": {"type": "Lead"}, "LeadSync_Booking_Id__c": "b", "LastName": "B"},
    ]  # fmt: skip

    results = client.collection_upsert("Lead", "LeadSync_Booking_Id__c", records)

    assert results[0].success and results[0].created and results[0].error is None
    assert not results[1].success
    assert results[1].error.code == "REQUIRED_FIELD_MISSING"
    assert results[1].error.kind is Kind.PERMANENT
    assert emulator_state(sf_emulator)["api_calls"]["collection.upsert"] == 1


def test_collection_create_and_query(sf_connection, sf_emulator):
    client = client_for(sf_connection)
    records = [
        {"attributes": {"type": "Lead"}, "LastName": f"L{i}", "Company": "C", "Region__c": "EU"}
        for i in range(3)
    ]

    results = client.collection_create(records)
    found = client.query("SELECT Id, LastName FROM Lead WHERE Company = 'C'")

    assert all(r.success for r in results)
    assert found["totalSize"] == 3
    assert {r["Id"] for r in found["records"]} == {r.id for r in results}


def test_userinfo_names_the_connected_user(sf_connection, sf_emulator):
    info = client_for(sf_connection).userinfo()
    assert info["preferred_username"] == emulator_state(sf_emulator)["username"]
    assert info["organization_id"] == emulator_state(sf_emulator)["org_id"]


def test_unreachable_salesforce_is_transient(sf_connection, sf_emulator, sf_settings):
    sf_settings.SALESFORCE_TIMEOUT = 0.2
    emulator_faults(sf_emulator, latency_ms=1000)
    with pytest.raises(SalesforceError) as caught:
        client_for(sf_connection).limits()
    assert caught.value.kind is Kind.TRANSIENT
    assert caught.value.code == "TIMEOUT"


def test_session_refused_again_after_a_refresh_is_a_connection_error(sf_connection, sf_emulator):
    """A token Salesforce has just issued and still refuses (no `api` scope, IP-locked
    session) will not be cured by refreshing again: staff must reconnect."""
    emulator_faults(sf_emulator, access_token_ttl=0)  # every token is born expired

    with pytest.raises(SalesforceError) as raised:
        client_for(sf_connection).describe("Lead")

    assert raised.value.kind is Kind.CONNECTION
    assert raised.value.code == "INVALID_SESSION_ID"
    assert token_calls(sf_emulator) == 2  # the first token, and exactly one refresh

"""Platform faults, limits, latency and the admin API that controls them."""

import concurrent.futures
import time

import pytest
import requests

from integrations.salesforce.emulator import EmulatorServer
from tests.fixtures_emulator import emulator_admin, emulator_http, sf_raw

LEAD = {"LastName": "Lovelace", "Company": "Analytical Engines", "Region__c": "EMEA"}


def _faults(server, **faults):
    return emulator_admin(server, "POST", "faults", faults)


def _stored(server):
    return emulator_admin(server, "GET", "records/Lead?seeded=false")  # what the API wrote


def test_daily_limit_refuses_with_request_limit_exceeded(sf_emulator, sf_client):
    _faults(sf_emulator, daily_api_limit=2)
    assert sf_raw(sf_client, "GET", "limits/").status_code == 200
    assert sf_raw(sf_client, "POST", "sobjects/Lead/", json=LEAD).status_code == 201

    refused = sf_raw(sf_client, "POST", "sobjects/Lead/", json=LEAD)

    assert refused.status_code == 403
    assert refused.json() == [
        {"message": "TotalRequests Limit exceeded.", "errorCode": "REQUEST_LIMIT_EXCEEDED"}
    ]
    assert refused.headers["Sforce-Limit-Info"] == "api-usage=2/2"
    assert len(_stored(sf_emulator)) == 1


def test_api_disabled_is_403_api_disabled_for_org(sf_emulator, sf_client):
    _faults(sf_emulator, api_disabled=True)

    response = sf_raw(sf_client, "GET", "sobjects/")

    assert response.status_code == 403
    assert response.json()[0]["errorCode"] == "API_DISABLED_FOR_ORG"


def test_fail_next_faults_are_consumed_by_the_matching_calls_in_order(sf_emulator, sf_client):
    _faults(sf_emulator, fail_next=["lock", "503", "request_limit"])

    read = sf_raw(sf_client, "GET", "limits/")  # takes "503"; "lock" waits for a write
    write = sf_raw(sf_client, "POST", "sobjects/Lead/", json=LEAD)  # takes "lock"
    limited = sf_raw(sf_client, "GET", "limits/")
    fine = sf_raw(sf_client, "POST", "sobjects/Lead/", json=LEAD)

    assert (read.status_code, read.json()) == (
        503,
        [{"message": "Server Unavailable", "errorCode": "SERVER_UNAVAILABLE"}],
    )
    assert write.status_code == 400
    [lock] = write.json()
    assert lock["errorCode"] == "UNABLE_TO_LOCK_ROW"
    assert lock["message"].startswith(
        "unable to obtain exclusive access to this record or 1 records: 001"
    )
    assert limited.json()[0]["errorCode"] == "REQUEST_LIMIT_EXCEEDED"
    assert fine.status_code == 201
    assert len(_stored(sf_emulator)) == 1
    assert emulator_admin(sf_emulator, "GET", "state")["faults"]["fail_next"] == []


def test_lock_fault_on_a_collection_fails_each_record(sf_emulator, sf_client):
    _faults(sf_emulator, fail_next=["lock"])
    records = [dict(LEAD, attributes={"type": "Lead"}) for _ in range(2)]

    response = sf_raw(sf_client, "POST", "composite/sobjects", json={"records": records})

    assert response.status_code == 200
    assert [r["errors"][0]["statusCode"] for r in response.json()] == ["UNABLE_TO_LOCK_ROW"] * 2
    assert _stored(sf_emulator) == []


def test_timeout_after_write_commits_although_the_client_timed_out(sf_emulator, sf_client):
    _faults(sf_emulator, fail_next=["timeout_after_write"], timeout_after_write_seconds=2)

    with pytest.raises(requests.exceptions.ReadTimeout):
        sf_raw(
            sf_client, "PATCH", "sobjects/Lead/LeadSync_Booking_Id__c/bk-1", json=LEAD, timeout=0.5
        )

    assert [r["LeadSync_Booking_Id__c"] for r in _stored(sf_emulator)] == ["bk-1"]
    retry = sf_client.Lead.upsert("LeadSync_Booking_Id__c/bk-1", LEAD, raw_response=True)
    assert retry.json()["created"] is False


def test_random_503_and_lock_rates(sf_emulator, sf_client):
    _faults(sf_emulator, rate_503=0.0, rate_lock=1.0)
    assert sf_raw(sf_client, "GET", "limits/").status_code == 200
    assert (
        sf_raw(sf_client, "POST", "sobjects/Lead/", json=LEAD).json()[0]["errorCode"]
        == "UNABLE_TO_LOCK_ROW"
    )

    _faults(sf_emulator, rate_503=1.0, rate_lock=0.0)

    assert sf_raw(sf_client, "GET", "limits/").status_code == 503


def test_limit_info_header_is_on_errors_too(sf_client):
    sf_raw(sf_client, "GET", "limits/")

    error = sf_raw(sf_client, "POST", "sobjects/Lead/", json={"LastName": "x"})

    assert error.status_code == 400
    assert error.headers["Sforce-Limit-Info"] == "api-usage=2/15000"


def test_missing_token_is_401_invalid_session_id(sf_emulator):
    response = emulator_http(sf_emulator).get(
        f"{sf_emulator.base_url}/services/data/v59.0/limits/", timeout=10
    )

    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == "Token"
    assert response.json() == [
        {"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}
    ]


def test_latency_is_served_concurrently(sf_emulator, sf_client):
    _faults(sf_emulator, latency_ms=100)
    calls = 30

    started = time.monotonic()
    with concurrent.futures.ThreadPoolExecutor(max_workers=calls) as pool:
        statuses = list(
            pool.map(lambda _: sf_raw(sf_client, "GET", "limits/").status_code, range(calls))
        )
    elapsed = time.monotonic() - started

    assert statuses == [200] * calls
    assert elapsed < calls * 0.1 / 2  # serial would take 3 s
    assert emulator_admin(sf_emulator, "GET", "state")["api_usage"]["used"] == calls


@pytest.mark.parametrize(
    "body",
    [{"nope": True}, {"daily_api_limit": "many"}, {"fail_next": ["explode"]}, {"rate_503": 2}],
)
def test_admin_rejects_bad_fault_updates(sf_emulator, body):
    response = emulator_http(sf_emulator).post(
        f"{sf_emulator.base_url}/__emulator__/faults", json=body, timeout=10
    )

    assert response.status_code == 400 and response.json()["error"]


def test_admin_state_and_reset_restore_start_faults(sf_emulator):
    changed = _faults(sf_emulator, app_blocked=True, daily_api_limit=10)
    assert changed["faults"]["app_blocked"] is True
    assert changed["api_usage"] == {"used": 0, "max": 10}

    state = emulator_admin(sf_emulator, "POST", "reset")

    assert state["faults"]["app_blocked"] is False
    assert state["faults"]["daily_api_limit"] == 15000


def test_start_config_applies_and_survives_reset(tmp_path):
    with EmulatorServer(
        use_tls=False, daily_api_limit=3, app_blocked=True, client_id="cid"
    ) as server:
        assert server.base_url.startswith("http://127.0.0.1:")
        emulator_admin_plain = requests.post(
            f"{server.base_url}/__emulator__/reset", timeout=10
        ).json()

    assert emulator_admin_plain["faults"]["daily_api_limit"] == 3
    assert emulator_admin_plain["faults"]["app_blocked"] is True
    assert emulator_admin_plain["connected_app"]["client_id"] == "cid"


def test_unknown_start_setting_is_refused(tmp_path):
    with pytest.raises(ValueError, match="unknown emulator setting"):
        EmulatorServer(tls_dir=tmp_path, dialy_api_limit=3)

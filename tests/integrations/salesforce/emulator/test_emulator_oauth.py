"""OAuth web server flow, PKCE, refresh, policies and revocation (reference §1-2)."""

import base64
import hashlib
import hmac
import html
import re
import threading

import pytest
from authlib.integrations.requests_client import OAuth2Session

from integrations.salesforce.emulator import (
    DEFAULT_CALLBACK_URL,
    DEFAULT_CLIENT_ID,
    DEFAULT_CLIENT_SECRET,
)
from tests.fixtures_emulator import (
    EMULATOR_SEED_REFRESH_TOKEN,
    emulator_admin,
    emulator_code_flow,
    emulator_http,
    emulator_refresh,
    emulator_salesforce,
    pkce_pair,
    sf_raw,
)

EXPIRED = {"error": "invalid_grant", "error_description": "expired access/refresh token"}


def _token(server, **form):
    data = {
        "grant_type": "authorization_code",
        "client_id": DEFAULT_CLIENT_ID,
        "client_secret": DEFAULT_CLIENT_SECRET,
        "redirect_uri": DEFAULT_CALLBACK_URL,
        **form,
    }
    data = {k: v for k, v in data.items() if v is not None}
    return emulator_http(server).post(
        f"{server.base_url}/services/oauth2/token", data=data, timeout=10
    )


def _error(response):
    assert response.status_code == 400
    assert response.headers["Cache-Control"] == "no-store"
    return response.json()


def test_code_flow_with_pkce_returns_the_reference_token_body(sf_emulator):
    verifier, challenge = pkce_pair()
    redirect = emulator_code_flow(sf_emulator, code_challenge=challenge)

    response = _token(sf_emulator, code=redirect["code"][0], code_verifier=verifier)

    body = response.json()
    assert response.status_code == 200 and redirect["state"] == ["state-123"]
    assert list(body) == [
        "access_token",
        "refresh_token",
        "signature",
        "scope",
        "instance_url",
        "id",
        "token_type",
        "issued_at",
    ]
    org = sf_emulator.org
    assert body["access_token"].startswith(org.org_id[:15] + "!")
    assert body["instance_url"] == sf_emulator.base_url
    assert body["id"] == f"{sf_emulator.base_url}/id/{org.org_id}/{org.user_id}"
    assert (body["token_type"], body["scope"]) == ("Bearer", "api refresh_token")
    assert re.fullmatch(r"\d{13}", body["issued_at"])
    mac = hmac.new(
        DEFAULT_CLIENT_SECRET.encode(), (body["id"] + body["issued_at"]).encode(), hashlib.sha256
    )
    assert body["signature"] == base64.b64encode(mac.digest()).decode()
    # The token works: a query answers (the lived-in org's own Leads).
    seeded = len(sf_emulator.org.seed_ids["leads"])
    assert (
        emulator_salesforce(sf_emulator, body).query("SELECT Id FROM Lead")["totalSize"] == seeded
    )


def test_code_flow_without_pkce_and_without_refresh_scope(sf_emulator):
    redirect = emulator_code_flow(sf_emulator, scope="api")

    body = _token(sf_emulator, code=redirect["code"][0]).json()

    assert "refresh_token" not in body and body["scope"] == "api"


def test_wrong_verifier_is_invalid_request_and_missing_one_invalid_grant(sf_emulator):
    _, challenge = pkce_pair()
    first = emulator_code_flow(sf_emulator, code_challenge=challenge)["code"][0]
    second = emulator_code_flow(sf_emulator, code_challenge=challenge)["code"][0]

    wrong = _token(sf_emulator, code=first, code_verifier="w" * 43)
    missing = _token(sf_emulator, code=second)

    assert _error(wrong)["error"] == "invalid_request"
    assert _error(missing)["error"] == "invalid_grant"


def test_code_is_single_use(sf_emulator):
    code = emulator_code_flow(sf_emulator)["code"][0]
    assert _token(sf_emulator, code=code).status_code == 200

    again = _token(sf_emulator, code=code)

    assert _error(again) == {
        "error": "invalid_grant",
        "error_description": "expired authorization code",
    }


def test_code_expires_after_fifteen_minutes(sf_emulator):
    code = emulator_code_flow(sf_emulator)["code"][0]
    emulator_admin(sf_emulator, "POST", "clock", {"advance_seconds": 15 * 60 + 1})

    assert (
        _error(_token(sf_emulator, code=code))["error_description"] == "expired authorization code"
    )


@pytest.mark.parametrize(
    ("form", "expected"),
    [
        (
            {"client_id": "other"},
            {"error": "invalid_client_id", "error_description": "client identifier invalid"},
        ),
        (
            {"client_secret": "wrong"},
            {"error": "invalid_client", "error_description": "invalid client credentials"},
        ),
        (
            {"redirect_uri": "http://127.0.0.1:8000/elsewhere/"},
            {
                "error": "redirect_uri_mismatch",
                "error_description": "redirect_uri must match configuration",
            },
        ),
        (
            {"grant_type": "password"},
            {"error": "unsupported_grant_type", "error_description": "grant type not supported"},
        ),
    ],
)
def test_token_endpoint_client_errors(sf_emulator, form, expected):
    code = emulator_code_flow(sf_emulator)["code"][0]

    assert _error(_token(sf_emulator, code=code, **form)) == expected


@pytest.mark.parametrize(
    ("action", "fault", "error", "description"),
    [
        ("deny", {}, "access_denied", "end-user denied authorization"),
        ("allow", {"app_blocked": True}, "OAUTH_APP_BLOCKED", "this app is blocked by admin"),
        (
            "allow",
            {"admin_approved_only": True},
            "OAUTH_APP_ACCESS_DENIED",
            "user is not admin approved to access this app",
        ),
    ],
)
def test_authorize_redirects_back_with_error(sf_emulator, action, fault, error, description):
    emulator_admin(sf_emulator, "POST", "faults", fault)

    redirect = emulator_code_flow(sf_emulator, action=action)

    assert redirect == {
        "error": [error],
        "error_description": [description],
        "state": ["state-123"],
    }


@pytest.mark.parametrize(
    ("params", "error"),
    [
        ({"client_id": "unknown"}, "invalid_client_id"),
        ({"redirect_uri": "https://evil.example/cb"}, "redirect_uri_mismatch"),
    ],
)
def test_authorize_never_redirects_to_an_untrusted_uri(sf_emulator, params, error):
    query = {
        "response_type": "code",
        "client_id": DEFAULT_CLIENT_ID,
        "redirect_uri": DEFAULT_CALLBACK_URL,
    }
    response = emulator_http(sf_emulator).get(
        f"{sf_emulator.base_url}/services/oauth2/authorize",
        params={**query, **params},
        allow_redirects=False,
        timeout=10,
    )

    assert response.status_code == 302
    assert response.headers["Location"].startswith(
        f"/setup/secur/RemoteAccessErrorPage.apexp?error={error}&"
    )


def test_connected_app_callback_urls_are_configurable(sf_emulator):
    emulator_admin(
        sf_emulator, "POST", "connected-app", {"callback_urls": ["http://localhost:9000/cb"]}
    )

    redirect = emulator_code_flow(sf_emulator, redirect_uri="http://localhost:9000/cb")

    assert "code" in redirect


@pytest.mark.parametrize(
    ("fault", "expected"),
    [
        ({"ip_restricted": True}, {"error": "invalid_grant", "error_description": "ip restricted"}),
        ({"refresh_token_policy": "zero"}, EXPIRED),
        (
            {"app_blocked": True},
            {"error": "OAUTH_APP_BLOCKED", "error_description": "this app is blocked by admin"},
        ),
        (
            {"admin_approved_only": True},
            {
                "error": "invalid_app_access",
                "error_description": "user is not admin approved to access this app",
            },
        ),
        ({"user_inactive": True}, {"error": "invalid_grant", "error_description": "inactive user"}),
        (
            {"fail_next": ["token_in_progress"]},
            {
                "error": "invalid_grant",
                "error_description": "token request is already being processed",
            },
        ),
    ],
)
def test_refresh_policy_faults_give_their_exact_error(sf_emulator, fault, expected):
    emulator_admin(sf_emulator, "POST", "faults", fault)

    assert _error(emulator_refresh(sf_emulator)) == expected


def test_token_in_progress_fault_is_consumed_once(sf_emulator):
    emulator_admin(sf_emulator, "POST", "faults", {"fail_next": ["token_in_progress"]})

    assert emulator_refresh(sf_emulator).status_code == 400
    assert emulator_refresh(sf_emulator).status_code == 200


def test_ip_restriction_also_refuses_the_code_exchange(sf_emulator):
    code = emulator_code_flow(sf_emulator)["code"][0]
    emulator_admin(sf_emulator, "POST", "faults", {"ip_restricted": True})

    assert _error(_token(sf_emulator, code=code))["error_description"] == "ip restricted"


def test_concurrent_refresh_with_one_token_gets_already_being_processed(sf_emulator):
    emulator_admin(sf_emulator, "POST", "faults", {"latency_ms": 400})
    results = []
    threads = [
        threading.Thread(target=lambda: results.append(emulator_refresh(sf_emulator)))
        for _ in range(2)
    ]

    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(r.status_code for r in results) == [200, 400]
    refused = next(r for r in results if r.status_code == 400)
    assert refused.json()["error_description"] == "token request is already being processed"


def test_refresh_without_rotation_returns_no_refresh_token(sf_emulator):
    body = emulator_refresh(sf_emulator).json()

    assert "refresh_token" not in body and body["scope"] == "api refresh_token"
    assert emulator_refresh(sf_emulator).status_code == 200


def test_refresh_with_rotation_invalidates_the_old_token(sf_emulator):
    emulator_admin(sf_emulator, "POST", "faults", {"refresh_token_rotation": True})

    rotated = emulator_refresh(sf_emulator).json()

    assert rotated["refresh_token"] != EMULATOR_SEED_REFRESH_TOKEN
    assert _error(emulator_refresh(sf_emulator)) == EXPIRED
    assert emulator_refresh(sf_emulator, rotated["refresh_token"]).status_code == 200


def test_expired_access_token_is_401_and_refresh_recovers(sf_emulator, sf_client):
    created = sf_client.Lead.create({"LastName": "A", "Company": "C", "Region__c": "R"})["id"]
    emulator_admin(sf_emulator, "POST", "clock", {"advance_seconds": 7201})

    expired = sf_raw(sf_client, "GET", "limits/")
    client = emulator_salesforce(sf_emulator, emulator_refresh(sf_emulator).json())

    assert expired.status_code == 401
    assert expired.headers["WWW-Authenticate"] == "Token"
    assert expired.json() == [
        {"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}
    ]
    assert client.query(f"SELECT Id FROM Lead WHERE Id = '{created}'")["totalSize"] == 1


def test_access_token_ttl_applies_to_new_tokens(sf_emulator):
    emulator_admin(sf_emulator, "POST", "faults", {"access_token_ttl": 60})
    client = emulator_salesforce(sf_emulator, emulator_refresh(sf_emulator).json())
    emulator_admin(sf_emulator, "POST", "clock", {"advance_seconds": 61})

    assert sf_raw(client, "GET", "limits/").status_code == 401


def test_revoking_the_refresh_token_kills_its_access_tokens(sf_emulator, sf_client):
    http = emulator_http(sf_emulator)
    url = f"{sf_emulator.base_url}/services/oauth2/revoke"

    revoked = http.post(url, data={"token": EMULATOR_SEED_REFRESH_TOKEN}, timeout=10)
    unknown = http.post(url, data={"token": "nope"}, timeout=10)

    assert revoked.status_code == 200
    assert unknown.status_code == 400
    assert sf_raw(sf_client, "GET", "limits/").status_code == 401
    assert _error(emulator_refresh(sf_emulator)) == EXPIRED


def test_revoke_all_refuses_every_token(sf_emulator, sf_client):
    emulator_admin(sf_emulator, "POST", "revoke-all")

    assert sf_raw(sf_client, "GET", "limits/").status_code == 401
    assert _error(emulator_refresh(sf_emulator)) == EXPIRED


def test_userinfo_describes_the_demo_user(sf_emulator):
    tokens = emulator_refresh(sf_emulator).json()
    http = emulator_http(sf_emulator)

    info = http.get(
        f"{sf_emulator.base_url}/services/oauth2/userinfo",
        headers={"Authorization": f"Bearer {tokens['access_token']}"},
        timeout=10,
    )
    bad = http.get(
        f"{sf_emulator.base_url}/services/oauth2/userinfo",
        headers={"Authorization": "Bearer x"},
        timeout=10,
    )

    body = info.json()
    assert (body["preferred_username"], body["organization_id"], body["user_id"]) == (
        "demo@leadsync.example",
        sf_emulator.org.org_id,
        sf_emulator.org.user_id,
    )
    assert body["urls"]["rest"].startswith(sf_emulator.base_url)
    assert (bad.status_code, bad.text) == (403, "Bad_OAuth_Token")


def test_authlib_client_completes_the_pkce_flow(sf_emulator):
    client = OAuth2Session(
        DEFAULT_CLIENT_ID,
        DEFAULT_CLIENT_SECRET,
        scope="api refresh_token",
        redirect_uri=DEFAULT_CALLBACK_URL,
        code_challenge_method="S256",
        token_endpoint_auth_method="client_secret_post",
    )
    client.verify, client.trust_env = sf_emulator.ca_path, False
    verifier = "z" * 48
    url, _state = client.create_authorization_url(
        f"{sf_emulator.base_url}/services/oauth2/authorize", code_verifier=verifier
    )
    browser = emulator_http(sf_emulator)
    page = browser.get(url, timeout=10)
    form = dict(re.findall(r'type="hidden" name="([^"]+)" value="([^"]*)"', page.text))
    form = {k: html.unescape(v) for k, v in form.items()}
    location = browser.post(
        f"{sf_emulator.base_url}/services/oauth2/authorize",
        data={**form, "action": "allow"},
        allow_redirects=False,
        timeout=10,
    ).headers["Location"]

    token = client.fetch_token(
        f"{sf_emulator.base_url}/services/oauth2/token",
        authorization_response=location,
        code_verifier=verifier,
    )

    assert token["instance_url"] == sf_emulator.base_url and token["refresh_token"]
    assert (
        emulator_admin(sf_emulator, "GET", "state")["oauth_calls"]["token.authorization_code"] == 1
    )

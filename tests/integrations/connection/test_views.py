"""Connecting a tenant to Salesforce through our own views, against the emulator over
HTTPS: the OAuth dance, refusals, policy diagnoses, test, disconnect, the banner."""

from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from django.urls import reverse
from django.utils import timezone

from integrations.connection.views import PENDING_KEY
from integrations.models import SalesforceConnection
from integrations.salesforce.emulator.org import ORG_ID, USER_ID, USERNAME
from tests.factories import SalesforceConnectionFactory
from tests.fixtures_emulator import emulator_admin, emulator_code_flow
from tests.integrations.conftest import (
    consent,
    emulator_faults,
    emulator_host,
    emulator_state,
    local_path,
    token_calls,
)

pytestmark = pytest.mark.django_db
Status = SalesforceConnection.Status


def change_url(connection) -> str:
    return reverse("admin:integrations_salesforceconnection_change", args=[connection.pk])


def action_url(name: str, connection) -> str:
    return reverse(f"salesforce:connection_{name}", args=[connection.pk])


@pytest.fixture
def new_connection(sf_settings, tenant_a) -> SalesforceConnection:
    return SalesforceConnection.objects.create(tenant=tenant_a)


def start_connect(client, connection, server) -> str:
    """Choose the emulator as a My Domain host; returns the authorize URL we redirect to."""
    response = client.post(
        action_url("connect", connection),
        {"environment": "custom", "custom_host": emulator_host(server)},
    )
    assert response.status_code == 302, response.content.decode()
    assert response["Location"].startswith(server.base_url + "/services/oauth2/authorize?")
    return response["Location"]


def connect(client, connection, server, *, action="allow"):
    """The whole dance; returns our callback's response."""
    authorize_url = start_connect(client, connection, server)
    back = consent(server, authorize_url, action=action)
    assert back.startswith("http://127.0.0.1:8000/salesforce/oauth/callback/?")
    return client.get(local_path(back))


def page(client, connection) -> str:
    response = client.get(change_url(connection))
    assert response.status_code == 200
    return response.content.decode()


# -- the happy path ---------------------------------------------------------------------------


def test_connect_stores_the_org_and_encrypted_tokens(
    sf_emulator, new_connection, admin_a, client_for
):
    client = client_for(admin_a)
    authorize_url = start_connect(client, new_connection, sf_emulator)
    query = parse_qs(urlsplit(authorize_url).query)
    assert query["code_challenge_method"] == ["S256"]
    assert len(query["code_challenge"][0]) == 43
    assert query["redirect_uri"] == ["http://127.0.0.1:8000/salesforce/oauth/callback/"]
    assert query["state"][0] == client.session[PENDING_KEY]["state"]

    response = client.get(local_path(consent(sf_emulator, authorize_url)))

    assert response.status_code == 302
    assert response["Location"] == change_url(new_connection)
    connection = SalesforceConnection.objects.get(pk=new_connection.pk)
    assert connection.status == Status.CONNECTED
    assert (connection.sf_org_id, connection.sf_user_id) == (ORG_ID, USER_ID)
    assert connection.sf_username == USERNAME
    assert connection.instance_url == sf_emulator.base_url
    assert connection.login_host == emulator_host(sf_emulator)
    assert connection.api_version == "59.0"
    assert connection.api_limit == 15000 and connection.api_usage is not None
    assert connection.access_token.startswith(ORG_ID[:15] + "!")
    assert connection.refresh_token.startswith("5Aep861")
    assert connection.connected_at and connection.checked_at and not connection.last_error_code
    # one code exchange, then the health check's refresh grant
    assert token_calls(sf_emulator, "authorization_code") == 1
    assert token_calls(sf_emulator, "refresh_token") == 1
    assert PENDING_KEY not in client.session


def test_connection_page_shows_org_user_instance_version_and_usage_but_no_token(
    sf_emulator, new_connection, admin_a, client_for
):
    client = client_for(admin_a)
    connect(client, new_connection, sf_emulator)
    connection = SalesforceConnection.objects.get(pk=new_connection.pk)

    html = page(client, connection)

    assert ORG_ID in html and USERNAME in html and USER_ID in html
    assert sf_emulator.base_url in html
    assert "59.0" in html
    assert f"{connection.api_usage} / 15000" in html
    assert "Test connection" in html and "Disconnect" in html
    for secret in (
        connection.access_token,
        connection.refresh_token,
        connection.access_token_encrypted,
        connection.refresh_token_encrypted,
    ):
        assert secret not in html
    assert "access_token" not in html and "refresh_token" not in html


def test_connect_form_offers_production_sandbox_and_validated_my_domain(
    sf_settings, new_connection, admin_a, client_for
):
    client = client_for(admin_a)
    html = client.get(action_url("connect", new_connection)).content.decode()
    assert "login.salesforce.com" in html and "test.salesforce.com" in html
    assert "http://127.0.0.1:8000/salesforce/oauth/callback/" in html

    for host in (
        "http://acme.my.salesforce.com",
        "evil.example.com",
        "acme.my.salesforce.com.evil.io",
    ):
        response = client.post(
            action_url("connect", new_connection), {"environment": "custom", "custom_host": host}
        )
        assert response.status_code == 200, host  # the form again, with the error
        assert PENDING_KEY not in client.session

    response = client.post(action_url("connect", new_connection), {"environment": "sandbox"})
    assert response["Location"].startswith("https://test.salesforce.com/services/oauth2/authorize?")
    response = client.post(
        action_url("connect", new_connection),
        {"environment": "custom", "custom_host": "https://Acme.my.salesforce.com/"},
    )
    assert response["Location"].startswith("https://acme.my.salesforce.com/services/oauth2/")


# -- refusals: nothing stored -----------------------------------------------------------------


def assert_nothing_stored(connection):
    fresh = SalesforceConnection.objects.get(pk=connection.pk)
    assert fresh.status == Status.DISABLED
    assert not fresh.access_token_encrypted and not fresh.refresh_token_encrypted
    assert not fresh.sf_org_id and not fresh.instance_url
    assert not fresh.last_error_code


def test_callback_with_a_wrong_state_is_refused_and_stores_nothing(
    sf_emulator, new_connection, admin_a, client_for
):
    client = client_for(admin_a)
    back = consent(sf_emulator, start_connect(client, new_connection, sf_emulator))
    tampered = back.replace("state=", "state=x", 1)

    response = client.get(local_path(tampered))

    assert response.status_code == 400
    assert "does not belong to this sign-in" in response.content.decode()
    assert_nothing_stored(new_connection)
    assert token_calls(sf_emulator, "authorization_code") == 0
    # the pending sign-in is spent: replaying the genuine answer is refused too
    assert client.get(local_path(back)).status_code == 400


def test_callback_without_a_started_sign_in_is_refused(
    sf_emulator, new_connection, admin_a, client_for
):
    params = emulator_code_flow(sf_emulator, state="forged")
    response = client_for(admin_a).get(
        reverse("salesforce:oauth_callback"), {"code": params["code"][0], "state": "forged"}
    )
    assert response.status_code == 400
    assert_nothing_stored(new_connection)


def test_callback_with_a_tampered_pkce_verifier_is_refused_and_stores_nothing(
    sf_emulator, new_connection, admin_a, client_for
):
    client = client_for(admin_a)
    back = consent(sf_emulator, start_connect(client, new_connection, sf_emulator))
    session = client.session
    session[PENDING_KEY] = {**session[PENDING_KEY], "code_verifier": "x" * 86}
    session.save()

    response = client.get(local_path(back))

    assert response.status_code == 400
    assert "could not be verified" in response.content.decode()
    assert_nothing_stored(new_connection)
    assert token_calls(sf_emulator, "authorization_code") == 1  # Salesforce said no


# -- what goes wrong, and what the page says -----------------------------------------------------


def test_denied_access_is_explained(sf_emulator, new_connection, admin_a, client_for):
    client = client_for(admin_a)
    response = connect(client, new_connection, sf_emulator, action="deny")
    assert response.status_code == 302
    html = page(client, new_connection)
    assert "Access was denied" in html
    assert SalesforceConnection.objects.get(pk=new_connection.pk).status == Status.DISABLED


@pytest.mark.parametrize(
    ("faults", "setting", "current", "required"),
    [
        (
            {"app_blocked": True},
            "Connected Apps OAuth Usage",
            "Blocked",
            "Unblock",
        ),
        (
            {"admin_approved_only": True},
            "Permitted Users",
            "Admin approved users are pre-authorized",
            "All users may self-authorize",
        ),
        (
            {"ip_restricted": True},
            "IP Relaxation",
            "Enforce IP restrictions",
            "Relax IP restrictions",
        ),
        (
            {"refresh_token_policy": "zero"},
            "Refresh Token Policy",
            "Immediately expire refresh token",
            "Refresh token is valid until revoked",
        ),
    ],
    ids=["app_blocked", "admin_approved", "ip_restricted", "refresh_token_policy"],
)
def test_connect_names_the_connected_app_setting_to_change(
    sf_emulator, new_connection, admin_a, client_for, faults, setting, current, required
):
    emulator_faults(sf_emulator, **faults)
    client = client_for(admin_a)

    response = connect(client, new_connection, sf_emulator)

    assert response.status_code == 302
    html = page(client, new_connection)
    assert setting in html and current in html and required in html
    fresh = SalesforceConnection.objects.get(pk=new_connection.pk)
    assert fresh.status != Status.CONNECTED
    assert fresh.last_error_code


@pytest.mark.parametrize(
    ("faults", "code", "setting", "words"),
    [
        ({"app_blocked": True}, "OAUTH_APP_BLOCKED", "Connected Apps OAuth Usage", "blocked"),
        ({"admin_approved_only": True}, "invalid_app_access", "Permitted Users", "pre-authorised"),
        ({"ip_restricted": True}, "invalid_grant", "IP Relaxation", "IP restrictions"),
        (
            {"refresh_token_policy": "zero"},
            "invalid_grant",
            "Refresh Token Policy",
            "soon after it was granted",
        ),
        ({"user_inactive": True}, "invalid_grant", None, "deactivated"),
        ({"api_disabled": True}, "API_DISABLED_FOR_ORG", None, "REST API is not enabled"),
    ],
    ids=["app_blocked", "admin_approved", "ip", "refresh_policy", "inactive_user", "api_off"],
)
def test_test_connection_diagnoses_each_fault(
    sf_connection, sf_emulator, admin_a, client_for, faults, code, setting, words
):
    emulator_faults(sf_emulator, **faults)
    client = client_for(admin_a)

    response = client.post(action_url("test", sf_connection), follow=True)

    html = response.content.decode()
    assert words in html
    if setting:
        assert setting in html
    fresh = SalesforceConnection.objects.get(pk=sf_connection.pk)
    assert fresh.status == Status.NEEDS_RECONNECT
    assert fresh.last_error_code == code
    # The banner shows on every other admin page; this page's own diagnosis says it once.
    assert "Salesforce needs reconnecting for Acme" not in html
    index = client.get(reverse("admin:index")).content.decode()
    assert "Salesforce needs reconnecting for Acme" in index


def test_wrong_consumer_secret_is_diagnosed(
    sf_connection, sf_emulator, sf_settings, admin_a, client_for
):
    sf_settings.SALESFORCE_CONSUMER_SECRET = "not-the-secret"
    response = client_for(admin_a).post(action_url("test", sf_connection), follow=True)
    html = response.content.decode()
    assert "consumer secret" in html and "SALESFORCE_CONSUMER_SECRET" in html
    assert SalesforceConnection.objects.get(pk=sf_connection.pk).last_error_code == "invalid_client"


def test_wrong_consumer_key_is_diagnosed(
    sf_connection, sf_emulator, sf_settings, admin_a, client_for
):
    sf_settings.SALESFORCE_CONSUMER_KEY = "not-the-key"
    html = client_for(admin_a).post(action_url("test", sf_connection), follow=True)
    assert "consumer key" in html.content.decode()
    fresh = SalesforceConnection.objects.get(pk=sf_connection.pk)
    assert fresh.last_error_code == "invalid_client_id"


def test_redirect_uri_mismatch_names_our_callback_url(
    sf_emulator, new_connection, admin_a, client_for
):
    other = "http://127.0.0.1:8000/elsewhere/"
    emulator_admin(
        sf_emulator,
        "POST",
        "connected-app",
        {"callback_urls": ["http://127.0.0.1:8000/salesforce/oauth/callback/", other]},
    )
    client = client_for(admin_a)
    start_connect(client, new_connection, sf_emulator)
    pending = client.session[PENDING_KEY]
    # A code issued for another redirect URI arrives at our callback.
    params = emulator_code_flow(sf_emulator, redirect_uri=other, state=pending["state"])

    response = client.get(
        reverse("salesforce:oauth_callback"), {"code": params["code"][0], "state": pending["state"]}
    )

    assert response.status_code == 302
    html = page(client, new_connection)
    assert "Callback URL" in html
    assert "http://127.0.0.1:8000/salesforce/oauth/callback/" in html
    fresh = SalesforceConnection.objects.get(pk=new_connection.pk)
    assert fresh.last_error_code == "redirect_uri_mismatch"
    assert not fresh.refresh_token_encrypted


# -- needs_reconnect, the banner, reconnect, disconnect -------------------------------------------


def test_revoked_grant_needs_reconnect_shows_banner_and_reconnecting_restores_it(
    sf_connection, sf_emulator, admin_a, admin_b, client_for, client
):
    # connected days ago: then "expired access/refresh token" reads as revoked
    SalesforceConnection.objects.filter(pk=sf_connection.pk).update(
        connected_at=timezone.now() - timedelta(days=3)
    )
    emulator_admin(sf_emulator, "POST", "revoke-all")
    client = client_for(admin_a)
    client.post(action_url("test", sf_connection))
    assert SalesforceConnection.objects.get(pk=sf_connection.pk).status == Status.NEEDS_RECONNECT

    index = client.get(reverse("admin:index")).content.decode()
    assert "Salesforce needs reconnecting for Acme" in index
    assert "no longer accepts" in index
    # another tenant's staff do not see it
    other = client_for(admin_b).get(reverse("admin:index")).content.decode()
    assert "needs reconnecting" not in other

    client = client_for(admin_a)
    response = connect(client, sf_connection, sf_emulator)

    assert response.status_code == 302
    fresh = SalesforceConnection.objects.get(pk=sf_connection.pk)
    assert fresh.status == Status.CONNECTED and not fresh.last_error_code
    assert "needs reconnecting" not in client.get(reverse("admin:index")).content.decode()


def test_disconnect_revokes_at_salesforce_and_forgets_the_tokens(
    sf_emulator, new_connection, admin_a, client_for
):
    client = client_for(admin_a)
    connect(client, new_connection, sf_emulator)
    assert emulator_state(sf_emulator)["tokens"]["refresh_not_revoked"] == 2  # seed + ours

    response = client.post(action_url("disconnect", new_connection), follow=True)

    assert "disconnected" in response.content.decode()
    assert emulator_state(sf_emulator)["oauth_calls"]["revoke"] == 1
    assert emulator_state(sf_emulator)["tokens"]["refresh_not_revoked"] == 1  # the seed
    fresh = SalesforceConnection.objects.get(pk=new_connection.pk)
    assert fresh.status == Status.DISABLED
    assert not fresh.access_token_encrypted and not fresh.refresh_token_encrypted


# -- tenants -------------------------------------------------------------------------------------


def test_other_tenants_staff_cannot_connect_test_or_disconnect(
    sf_connection, sf_emulator, admin_b, client_for
):
    before = SalesforceConnection.objects.filter(pk=sf_connection.pk).values().get()
    client = client_for(admin_b)
    assert client.get(action_url("connect", sf_connection)).status_code == 404
    response = client.post(action_url("connect", sf_connection), {"environment": "production"})
    assert response.status_code == 404
    assert PENDING_KEY not in client.session
    assert client.post(action_url("test", sf_connection)).status_code == 404
    assert client.post(action_url("disconnect", sf_connection)).status_code == 404
    after = SalesforceConnection.objects.filter(pk=sf_connection.pk).values().get()
    assert after == before
    assert token_calls(sf_emulator) == 0


def test_other_tenants_staff_cannot_finish_a_connect_for_another_tenant(
    sf_emulator, new_connection, admin_a, admin_b, tenant_b, client_for
):
    own = SalesforceConnectionFactory(tenant=tenant_b, status=Status.DISABLED)
    client = client_for(admin_b)
    start_connect(client, own, sf_emulator)
    session = client.session
    session[PENDING_KEY] = {**session[PENDING_KEY], "connection_id": new_connection.pk}
    session.save()
    params = emulator_code_flow(sf_emulator, state=session[PENDING_KEY]["state"])

    response = client.get(
        reverse("salesforce:oauth_callback"),
        {"code": params["code"][0], "state": session[PENDING_KEY]["state"]},
    )

    assert response.status_code == 404
    assert_nothing_stored(new_connection)


def test_actions_need_a_signed_in_staff_user(sf_connection, client):
    response = client.post(action_url("test", sf_connection))
    assert response.status_code == 302 and "login" in response["Location"]
    assert client.get(reverse("salesforce:oauth_callback"), {"state": "x"}).status_code == 400


def test_deleting_the_connection_in_the_admin_revokes_it_first(
    sf_emulator, new_connection, admin_a, client_for
):
    client = client_for(admin_a)
    connect(client, new_connection, sf_emulator)

    response = client.post(
        reverse("admin:integrations_salesforceconnection_delete", args=[new_connection.pk]),
        {"post": "yes"},
    )

    assert response.status_code == 302
    assert not SalesforceConnection.objects.filter(pk=new_connection.pk).exists()
    assert emulator_state(sf_emulator)["oauth_calls"]["revoke"] == 1


def test_reconnecting_to_another_org_drops_its_cached_fields_and_warns(
    sf_emulator, new_connection, admin_a, client_for
):
    from tests.factories import SObjectSchemaFactory

    new_connection.sf_org_id = "00D000000000OLDEAA"  # was connected to another org
    new_connection.save()
    SObjectSchemaFactory(connection=new_connection, sobject="Lead")
    client = client_for(admin_a)

    response = connect(client, new_connection, sf_emulator)

    assert not new_connection.schemas.exists()
    shown = [str(m) for m in response.wsgi_request._messages]
    assert any("different Salesforce org" in m for m in shown), shown

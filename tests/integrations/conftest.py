"""Fixtures for the Salesforce connection tests: settings pointing at the emulator, a
connection to it, and a browser-like walk through its consent page."""

from urllib.parse import urlsplit

import pytest
from django.utils import timezone

from integrations.models import SalesforceConnection
from integrations.salesforce.emulator import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET
from tests.fixtures_emulator import (
    EMULATOR_SEED_REFRESH_TOKEN,
    emulator_admin,
    emulator_consent,
)


def emulator_host(server) -> str:
    """host:port of the emulator, as staff would type it as a login host."""
    return urlsplit(server.base_url).netloc


@pytest.fixture
def sf_settings(settings, sf_emulator):
    """Settings of a deployment whose Connected App lives in the emulator."""
    settings.SITE_URL = "http://127.0.0.1:8000"  # the emulator's default callback
    settings.SALESFORCE_CONSUMER_KEY = DEFAULT_CLIENT_ID
    settings.SALESFORCE_CONSUMER_SECRET = DEFAULT_CLIENT_SECRET
    settings.SALESFORCE_CA_BUNDLE = sf_emulator.ca_path
    settings.SALESFORCE_EXTRA_LOGIN_HOSTS = [emulator_host(sf_emulator)]
    settings.SALESFORCE_TIMEOUT = 10
    settings.SALESFORCE_API_VERSION = "59.0"
    # A push in this process must not hand a backlog to a queued worker, which could not
    # reach this test's emulator (its CA is this process's setting).
    settings.DELIVERY_PUSHES_PER_CONNECTION = 1
    return settings


@pytest.fixture
def sf_connection(sf_settings, sf_emulator, tenant_a) -> SalesforceConnection:
    """Tenant A connected to the emulator with its seeded refresh token, no access token
    yet (so the first call refreshes), like the demo."""
    connection = SalesforceConnection(
        tenant=tenant_a,
        status=SalesforceConnection.Status.CONNECTED,
        login_host=emulator_host(sf_emulator),
        instance_url=sf_emulator.base_url,
        api_version="59.0",
        connected_at=timezone.now(),
    )
    connection.refresh_token = EMULATOR_SEED_REFRESH_TOKEN
    connection.save()
    return connection


def emulator_faults(server, **faults) -> None:
    emulator_admin(server, "POST", "faults", faults)


def emulator_state(server) -> dict:
    return emulator_admin(server, "GET", "state")


def token_calls(server, grant: str = "refresh_token") -> int:
    return emulator_state(server)["oauth_calls"].get(f"token.{grant}", 0)


consent = emulator_consent  # a browser's walk through Salesforce's consent page


def local_path(url: str) -> str:
    """The path and query of a callback URL, for Django's test client."""
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}"

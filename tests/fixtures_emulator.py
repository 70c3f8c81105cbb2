"""Fixtures for the local Salesforce emulator (star-imported by tests/conftest.py).

- ``sf_emulator_server`` (session): one emulator over HTTPS, CA in a tmp dir.
- ``sf_emulator`` (function): the same server, reset to its start state for this test:
  the lived-in org (a customer's org: existing people, standard duplicate rules, a Lead
  assignment rule; see integrations/salesforce/emulator/seed.py).
- ``sf_emulator_blank`` (function): the same server reset to a blank org (no records
  but the integration user, no rules), for tests whose point needs an empty org.
- ``sf_client`` (function): a ``simple_salesforce.Salesforce`` connected to it through
  the token endpoint (seeded refresh token), over a session that trusts the emulator CA;
  ``sf_blank_client`` the same on the blank org.

Helpers for tests that need more control: ``emulator_http(server)``,
``emulator_admin(server, method, path, body)``, ``emulator_refresh(server)``,
``emulator_code_flow(server, ...)``, ``emulator_salesforce(server, tokens)``,
``sf_raw(sf, method, path, ...)``, ``pkce_pair()``.
"""

from __future__ import annotations

import base64
import hashlib
import html
import re
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest
import requests
from simple_salesforce import Salesforce

from integrations.salesforce.emulator import (
    DEFAULT_CALLBACK_URL,
    DEFAULT_CLIENT_ID,
    DEFAULT_CLIENT_SECRET,
    EmulatorServer,
)

__all__ = [
    "EMULATOR_SEED_REFRESH_TOKEN",
    "emulator_admin",
    "emulator_code_flow",
    "emulator_consent",
    "emulator_http",
    "emulator_refresh",
    "emulator_salesforce",
    "pkce_pair",
    "sf_blank_client",
    "sf_client",
    "sf_emulator",
    "sf_emulator_blank",
    "sf_emulator_server",
    "sf_raw",
]

EMULATOR_SEED_REFRESH_TOKEN = "5Aep861-test-seeded-refresh-token"
HTTP_TIMEOUT = 10


def emulator_http(server: EmulatorServer) -> requests.Session:
    """A requests session that trusts the emulator's CA.

    ``trust_env = False`` matters: with REQUESTS_CA_BUNDLE set in the environment,
    requests ignores ``session.verify`` for calls that do not pass ``verify=`` themselves
    (simple-salesforce's do not).
    """
    session = requests.Session()
    session.verify = server.ca_path
    session.trust_env = False
    return session


def emulator_admin(server: EmulatorServer, method: str, path: str, body: Any = None) -> Any:
    """Call the emulator-only admin API (``/__emulator__/<path>``); returns parsed JSON.

    Fails the test on a non-2xx answer, showing the emulator's reason.
    """
    response = emulator_http(server).request(
        method, f"{server.base_url}/__emulator__/{path}", json=body, timeout=HTTP_TIMEOUT
    )
    assert response.ok, f"{method} {path} -> {response.status_code} {response.text}"
    return response.json()


def emulator_refresh(server: EmulatorServer, refresh_token: str = EMULATOR_SEED_REFRESH_TOKEN):
    """POST the refresh grant; returns the requests Response."""
    return emulator_http(server).post(
        f"{server.base_url}/services/oauth2/token",
        data={
            "grant_type": "refresh_token",
            "refresh_token": refresh_token,
            "client_id": DEFAULT_CLIENT_ID,
            "client_secret": DEFAULT_CLIENT_SECRET,
        },
        timeout=HTTP_TIMEOUT,
    )


def pkce_pair(verifier: str = "v" * 43) -> tuple[str, str]:
    """(verifier, S256 challenge)."""
    digest = hashlib.sha256(verifier.encode()).digest()
    return verifier, base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def emulator_consent(server: EmulatorServer, authorize_url: str, *, action: str = "allow") -> str:
    """Open the consent page at `authorize_url` and click Allow (or Deny) as a browser
    would; returns the URL the emulator redirects back to."""
    http = emulator_http(server)
    page = http.get(authorize_url, timeout=HTTP_TIMEOUT)
    assert page.status_code == 200, page.text
    form = {
        name: html.unescape(value)
        for name, value in re.findall(r'type="hidden" name="([^"]+)" value="([^"]*)"', page.text)
    }
    form["action"] = action
    answer = http.post(
        f"{server.base_url}/services/oauth2/authorize",
        data=form,
        allow_redirects=False,
        timeout=HTTP_TIMEOUT,
    )
    assert answer.status_code == 302, answer.text
    return answer.headers["Location"]


def emulator_code_flow(
    server: EmulatorServer,
    *,
    action: str = "allow",
    code_challenge: str | None = None,
    redirect_uri: str = DEFAULT_CALLBACK_URL,
    state: str = "state-123",
    scope: str | None = "api refresh_token",
) -> dict[str, list[str]]:
    """Drive the consent page like a browser; returns the redirect's query parameters."""
    params = {
        "response_type": "code",
        "client_id": DEFAULT_CLIENT_ID,
        "redirect_uri": redirect_uri,
        "state": state,
    }
    if scope:
        params["scope"] = scope
    if code_challenge:
        params.update(code_challenge=code_challenge, code_challenge_method="S256")
    authorize_url = (
        requests.Request("GET", f"{server.base_url}/services/oauth2/authorize", params=params)
        .prepare()
        .url
    )
    location = emulator_consent(server, authorize_url, action=action)
    assert location.startswith(redirect_uri), location
    return parse_qs(urlparse(location).query)


def emulator_salesforce(
    server: EmulatorServer, tokens: dict[str, Any], version: str = "59.0"
) -> Salesforce:
    """simple-salesforce built the way the product builds it (direct session branch)."""
    return Salesforce(
        instance_url=tokens["instance_url"],
        session_id=tokens["access_token"],
        session=emulator_http(server),
        version=version,
    )


def sf_raw(sf: Salesforce, method: str, path: str, **kwargs: Any) -> requests.Response:
    """A raw REST call with the client's auth headers (plus ``headers=``), for asserting
    status and body. ``path`` is relative to ``sf.base_url`` unless it is a full URL."""
    url = path if path.startswith("https://") else sf.base_url + path
    headers = {**sf.headers, **kwargs.pop("headers", {})}
    kwargs.setdefault("timeout", HTTP_TIMEOUT)
    return sf.session.request(method, url, headers=headers, **kwargs)


@pytest.fixture(scope="session")
def sf_emulator_server(tmp_path_factory):
    server = EmulatorServer(
        tls_dir=tmp_path_factory.mktemp("sf-emulator-tls"),
        seed_refresh_tokens=[EMULATOR_SEED_REFRESH_TOKEN],
    )
    server.start()
    yield server
    server.stop()


@pytest.fixture
def sf_emulator(sf_emulator_server):
    sf_emulator_server.org.reset()
    yield sf_emulator_server
    sf_emulator_server.org.reset()


@pytest.fixture
def sf_emulator_blank(sf_emulator_server):
    sf_emulator_server.org.reset("blank")
    yield sf_emulator_server
    sf_emulator_server.org.reset()


@pytest.fixture
def sf_client(sf_emulator) -> Salesforce:
    response = emulator_refresh(sf_emulator)
    assert response.status_code == 200, response.text
    return emulator_salesforce(sf_emulator, response.json())


@pytest.fixture
def sf_blank_client(sf_emulator_blank) -> Salesforce:
    """Like ``sf_client``, connected to the blank org (do not combine with sf_emulator)."""
    response = emulator_refresh(sf_emulator_blank)
    assert response.status_code == 200, response.text
    return emulator_salesforce(sf_emulator_blank, response.json())

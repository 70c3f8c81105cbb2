"""The HTTP transport for every call to Salesforce: a default timeout on every request,
and TLS verified against settings.SALESFORCE_CA_BUNDLE when it is set.

Both belong to the adapter, not to call sites: simple-salesforce's SFType methods take no
`timeout`, and `session.verify` loses to REQUESTS_CA_BUNDLE from the environment when a
call passes no `verify=` itself (requests' Session.merge_environment_settings).
"""

from __future__ import annotations

import threading

import requests
from django.conf import settings
from requests.adapters import HTTPAdapter


class SalesforceAdapter(HTTPAdapter):
    """HTTPAdapter with a default timeout and a pinned CA bundle."""

    def __init__(self, *, timeout: float, ca_bundle: str = "", **kwargs) -> None:
        self.timeout = timeout
        self.ca_bundle = ca_bundle
        super().__init__(**kwargs)

    def send(self, request, **kwargs):
        if kwargs.get("timeout") is None:
            kwargs["timeout"] = self.timeout
        if self.ca_bundle:
            kwargs["verify"] = self.ca_bundle
        return super().send(request, **kwargs)


def adapter_mount(session: requests.Session) -> requests.Session:
    """Mount a SalesforceAdapter (current settings) on `session` for https://."""
    adapter = SalesforceAdapter(
        timeout=settings.SALESFORCE_TIMEOUT,
        ca_bundle=settings.SALESFORCE_CA_BUNDLE,
        pool_maxsize=20,
    )
    session.mount("https://", adapter)
    if settings.SALESFORCE_CA_BUNDLE:
        session.verify = settings.SALESFORCE_CA_BUNDLE
    return session


_lock = threading.Lock()
_shared: dict[tuple, requests.Session] = {}


def shared_session() -> requests.Session:
    """The one requests session of this process for Salesforce data calls (connection
    pooling). Rebuilt only if the timeout or CA settings change (tests override them)."""
    key = (settings.SALESFORCE_TIMEOUT, settings.SALESFORCE_CA_BUNDLE)
    with _lock:
        session = _shared.get(key)
        if session is None:
            _shared.clear()
            session = _shared[key] = adapter_mount(requests.Session())
        return session

"""The token source the Salesforce client runs on, backed by the SalesforceConnection row.

    client_for(connection) -> SalesforceClient      the one way the app builds a client
    connection_token_refresh(*, connection, failed_access_token) -> SalesforceConnection

The client (integrations.salesforce.client) knows no model; this module reads the stored
tokens for it, refreshes them under the row's lock, and records the API usage it sees.
"""

from __future__ import annotations

import time

from django.conf import settings
from django.db import transaction

from integrations.connection import services
from integrations.crypto import InvalidToken
from integrations.models import SalesforceConnection
from integrations.salesforce import oauth
from integrations.salesforce.client import Credentials, SalesforceClient
from integrations.salesforce.errors import (
    TOKEN_IN_PROGRESS,
    Kind,
    SalesforceError,
    token_unreadable,
)

# "token request is already being processed" (another client refreshing the same token)
# is transient: wait and retry a few times while holding our row lock.
REFRESH_IN_PROGRESS_WAITS = (0.5, 1.0, 2.0)


class ConnectionTokenSource:
    """A `TokenSource` for one connection row (see integrations.salesforce.client)."""

    def __init__(self, connection: SalesforceConnection) -> None:
        self.connection = connection

    def credentials(self) -> Credentials:
        connection = self.connection
        token = ""
        if connection.access_token_encrypted:
            try:
                token = connection.access_token
            except InvalidToken:
                raise token_unreadable() from None
        return Credentials(
            instance_url=connection.instance_url,
            access_token=token,
            api_version=connection.api_version or settings.SALESFORCE_API_VERSION,
        )

    def refresh(self, *, failed_access_token: str) -> Credentials:
        self.connection = connection_token_refresh(
            connection=self.connection, failed_access_token=failed_access_token
        )
        return self.credentials()

    def usage_seen(self, *, used: int, limit: int) -> None:
        services.connection_usage_store(connection=self.connection, used=used, limit=limit)


def client_for(connection: SalesforceConnection) -> SalesforceClient:
    """A Salesforce client acting for `connection` (the seam unit tests patch)."""
    return SalesforceClient(ConnectionTokenSource(connection))


def connection_token_refresh(
    *, connection: SalesforceConnection, failed_access_token: str | None
) -> SalesforceConnection:
    """Get a new access token with the stored refresh token; returns the updated row.

    Serialised per connection across processes by a row lock. `failed_access_token` is the
    token that just got 401 ("" when there was none): if the stored token already differs,
    another worker refreshed meanwhile and its token is used without a new grant. None
    forces a refresh (the health check). A rotated refresh token is stored.

    Raises SalesforceError; a connection-kind error turns a connected connection
    needs_reconnect (services.connection_record_failure).
    """
    error: SalesforceError | None = None
    with transaction.atomic():
        # FOR NO KEY UPDATE: bookings saved meanwhile (their deliveries' deferred foreign
        # key takes FOR KEY SHARE on this row at commit) need not wait for the refresh.
        locked = SalesforceConnection.objects.select_for_update(no_key=True).get(pk=connection.pk)
        try:
            stored_access, refresh = locked.access_token, locked.refresh_token
        except InvalidToken:
            stored_access, refresh = "", ""
            error = token_unreadable()
        refreshed_meanwhile = (
            failed_access_token is not None
            and stored_access
            and stored_access != failed_access_token
        )
        if refreshed_meanwhile:
            return locked  # another worker refreshed while we waited for the lock
        if error is None and not refresh:
            error = SalesforceError(Kind.CONNECTION, "NOT_CONNECTED", "No refresh token stored.")
        if error is None:
            try:
                grant = _refresh_retrying(locked.login_host, refresh)
            except SalesforceError as exc:
                error = exc
            else:
                locked.access_token = grant.access_token
                if grant.refresh_token:  # Refresh Token Rotation: the old one is dead now
                    locked.refresh_token = grant.refresh_token
                locked.instance_url = grant.instance_url
                locked.save(
                    update_fields=[
                        "access_token_encrypted",
                        "refresh_token_encrypted",
                        "instance_url",
                        "updated_at",
                    ]
                )
    if error is not None:
        if error.kind is Kind.CONNECTION:
            services.connection_record_failure(connection=connection, error=error)
        raise error
    return locked


def _refresh_retrying(login_host: str, refresh_token: str) -> oauth.TokenGrant:
    for wait in (*REFRESH_IN_PROGRESS_WAITS, None):
        try:
            return oauth.token_refresh(login_host=login_host, refresh_token=refresh_token)
        except SalesforceError as exc:
            if TOKEN_IN_PROGRESS not in exc.message.lower() or wait is None:
                raise
            time.sleep(wait)
    raise AssertionError("unreachable")  # pragma: no cover

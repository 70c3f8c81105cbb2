"""Writes to Salesforce connections: connect, test, refresh, disconnect, needs-reconnect.

Each service is keyword-only and leaves the row consistent; errors from Salesforce arrive
as SalesforceError (integrations.salesforce.errors) and are recorded on the connection
(`last_error_code` / `last_error_message`, explained by salesforce.diagnostics).
Tokens are never logged.
"""

from __future__ import annotations

import logging
import time

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from bookings.models import Tenant
from integrations.crypto import InvalidToken
from integrations.models import SalesforceConnection
from integrations.salesforce import client as sf_client
from integrations.salesforce import oauth
from integrations.salesforce.errors import TOKEN_IN_PROGRESS, Kind, SalesforceError

logger = logging.getLogger(__name__)
Status = SalesforceConnection.Status

# "token request is already being processed" (another client refreshing the same token,
# reference §1) is transient: wait and retry a few times while holding our row lock.
REFRESH_IN_PROGRESS_WAITS = (0.5, 1.0, 2.0)


def connection_get_or_create(*, tenant: Tenant) -> SalesforceConnection:
    """The tenant's connection row (one per tenant), created "not connected" if missing."""
    connection, _ = SalesforceConnection.objects.get_or_create(tenant=tenant)
    return connection


@transaction.atomic
def connection_complete_oauth(
    *, connection: SalesforceConnection, login_host: str, grant: oauth.TokenGrant
) -> SalesforceConnection:
    """Store a fresh authorisation (code exchange) and mark the connection connected.

    Call `connection_test` afterwards: it fills in the user and usage, and surfaces
    token-endpoint policies (refresh) right away.
    """
    old_refresh = _readable_refresh_token(connection)
    if connection.sf_org_id and connection.sf_org_id != grant.org_id:
        # Reconnected to another org: the cached field lists describe the old one.
        # Drop them so they are fetched again, and make staff re-check their mappings.
        connection.schemas.all().delete()
        logger.warning(
            "Salesforce org changed: tenant=%s org=%s was=%s",
            connection.tenant_id, grant.org_id, connection.sf_org_id,
        )  # fmt: skip
    connection.login_host = login_host
    connection.instance_url = grant.instance_url
    connection.sf_org_id = grant.org_id
    connection.sf_user_id = grant.user_id
    connection.api_version = settings.SALESFORCE_API_VERSION
    connection.access_token = grant.access_token
    connection.refresh_token = grant.refresh_token or ""
    connection.status = Status.CONNECTED
    connection.connected_at = connection.checked_at = timezone.now()
    _error_clear(connection)
    connection.save()
    # Deliveries held while the connection was refused go out by themselves now.
    from integrations.delivery_services import deliveries_release_held

    deliveries_release_held(connection=connection)
    if old_refresh and old_refresh != grant.refresh_token:
        # Each user may hold 5 grants per app (reference §1): give the old one back.
        transaction.on_commit(lambda: _revoke_quietly(login_host, old_refresh))
    logger.info("Salesforce connected: tenant=%s org=%s", connection.tenant_id, grant.org_id)
    return connection


def connection_record_failure(
    *, connection: SalesforceConnection, error: SalesforceError
) -> SalesforceConnection:
    """Record a failed connect or check. A connection-kind error on a connected
    connection turns it needs_reconnect; other errors leave the status alone."""
    if error.kind is Kind.CONNECTION and connection.status == Status.CONNECTED:
        return connection_mark_needs_reconnect(connection=connection, error=error)
    _error_set(connection, error)
    connection.save(update_fields=["last_error_code", "last_error_message", "last_error_at"])
    return connection


def connection_record_connect_failure(
    *, connection: SalesforceConnection, error: SalesforceError
) -> SalesforceConnection:
    """Record why a connect attempt failed. The status is left alone: a refused new
    sign-in says nothing about the grant already stored."""
    _error_set(connection, error)
    connection.save(update_fields=["last_error_code", "last_error_message", "last_error_at"])
    return connection


def connection_mark_needs_reconnect(
    *, connection: SalesforceConnection, error: SalesforceError
) -> SalesforceConnection:
    """Salesforce refuses the stored grant for good: stop using it until staff reconnect.

    The tokens are kept (Disconnect revokes them); the banner and the connection page
    show `diagnose(last_error_code, last_error_message)`.
    """
    _error_set(connection, error)
    connection.status = Status.NEEDS_RECONNECT
    SalesforceConnection.objects.filter(pk=connection.pk).update(
        status=connection.status,
        last_error_code=connection.last_error_code,
        last_error_message=connection.last_error_message,
        last_error_at=connection.last_error_at,
        updated_at=timezone.now(),
    )
    logger.warning(
        "Salesforce connection needs reconnecting: tenant=%s %s %s",
        connection.tenant_id,
        error.code,
        error.message,
    )
    return connection


def connection_token_refresh(
    *, connection: SalesforceConnection, failed_access_token: str | None
) -> SalesforceConnection:
    """Get a new access token with the stored refresh token; returns the updated row.

    Serialised per connection across processes by a row lock. `failed_access_token` is the
    token that just got 401 ("" when there was none): if the stored token already differs,
    another worker refreshed meanwhile and its token is used without a new grant. None
    forces a refresh (the health check). A rotated refresh token is stored.

    Raises SalesforceError; a connection-kind error turns a connected connection
    needs_reconnect (connection_record_failure).
    """
    error: SalesforceError | None = None
    with transaction.atomic():
        locked = SalesforceConnection.objects.select_for_update().get(pk=connection.pk)
        try:
            stored_access, refresh = locked.access_token, locked.refresh_token
        except InvalidToken:
            stored_access, refresh = "", ""
            error = sf_client.token_unreadable()
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
            connection_record_failure(connection=connection, error=error)
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


def connection_test(*, connection: SalesforceConnection) -> SalesforceError | None:
    """The health check ("Test connection", and right after connecting): a refresh-token
    grant (so token-endpoint policies surface now, not in two hours), then userinfo and
    /limits. Records the outcome on the connection; returns the error, None when healthy.
    A passing check makes a needs_reconnect connection connected again."""
    if not connection.has_tokens:
        return SalesforceError(Kind.CONNECTION, "NOT_CONNECTED", "Not connected yet.")
    try:
        connection = connection_token_refresh(connection=connection, failed_access_token=None)
        client = sf_client.client_for(connection)
        info = client.userinfo()
        client.limits()
    except SalesforceError as error:
        connection.refresh_from_db()
        connection_record_failure(connection=connection, error=error)
        return error
    connection.refresh_from_db()
    connection.sf_username = info.get("preferred_username") or connection.sf_username
    connection.sf_user_id = info.get("user_id") or connection.sf_user_id
    connection.sf_org_id = info.get("organization_id") or connection.sf_org_id
    connection.status = Status.CONNECTED
    connection.checked_at = timezone.now()
    _error_clear(connection)
    # Named fields only: a worker may rotate the refresh token meanwhile (under its lock);
    # a full save would write back the token read above.
    connection.save(
        update_fields=[
            "sf_username", "sf_user_id", "sf_org_id", "status", "checked_at",
            "last_error_code", "last_error_message", "last_error_at", "updated_at",
        ]
    )  # fmt: skip
    return None


def connection_disconnect(*, connection: SalesforceConnection) -> SalesforceError | None:
    """Revoke the refresh token at Salesforce and forget every token. The connection is
    forgotten even when revoking fails; the error is returned so staff can revoke it in
    Salesforce (Setup → Connected Apps OAuth Usage)."""
    error = None
    refresh = _readable_refresh_token(connection)
    if refresh and connection.login_host:
        try:
            oauth.token_revoke(login_host=connection.login_host, token=refresh)
        except SalesforceError as exc:
            error = exc
    connection.access_token = ""
    connection.refresh_token = ""
    connection.status = Status.DISABLED
    connection.api_usage = connection.api_limit = None
    _error_clear(connection)
    connection.save()
    logger.info("Salesforce disconnected: tenant=%s", connection.tenant_id)
    return error


# -- helpers -----------------------------------------------------------------------------------


def _error_set(connection: SalesforceConnection, error: SalesforceError) -> None:
    connection.last_error_code = error.code[:100]
    connection.last_error_message = error.message
    connection.last_error_at = timezone.now()


def _error_clear(connection: SalesforceConnection) -> None:
    connection.last_error_code = connection.last_error_message = ""
    connection.last_error_at = None


def _readable_refresh_token(connection: SalesforceConnection) -> str:
    try:
        return connection.refresh_token
    except InvalidToken:
        return ""


def _revoke_quietly(login_host: str, token: str) -> None:
    try:
        oauth.token_revoke(login_host=login_host, token=token)
    except SalesforceError as exc:
        logger.warning("Could not revoke a replaced Salesforce grant: %s", exc.code)

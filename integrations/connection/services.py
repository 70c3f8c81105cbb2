"""Writes to Salesforce connections: connect, record failures, disconnect, needs-reconnect.

The token refresh is in integrations.connection.tokens, the health check in
integrations.connection.health.

Each service is keyword-only and leaves the row consistent; errors from Salesforce arrive
as SalesforceError (integrations.salesforce.errors) and are recorded on the connection
(`last_error_code` / `last_error_message`, explained by salesforce.diagnostics).
Tokens are never logged.
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from bookings.models import Tenant
from integrations.connection.signals import connection_reconnected
from integrations.crypto import InvalidToken
from integrations.models import SalesforceConnection
from integrations.salesforce import oauth
from integrations.salesforce.errors import Kind, SalesforceError

logger = logging.getLogger(__name__)
Status = SalesforceConnection.Status


def connection_get_or_create(*, tenant: Tenant) -> SalesforceConnection:
    """The tenant's connection row (one per tenant), created "not connected" if missing."""
    connection, _ = SalesforceConnection.objects.get_or_create(tenant=tenant)
    return connection


@transaction.atomic
def connection_complete_oauth(
    *, connection: SalesforceConnection, login_host: str, grant: oauth.TokenGrant
) -> SalesforceConnection:
    """Store a fresh authorisation (code exchange) and mark the connection connected.

    Call `connection_test` (integrations.connection.health) afterwards: it fills in the
    user and usage, and surfaces token-endpoint policies (refresh) right away. Sends
    `connection_reconnected` inside the transaction.
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
    # Whoever waits for the connection (held deliveries) resumes; receivers run in this
    # transaction.
    connection_reconnected.send(sender=SalesforceConnection, connection=connection)
    if old_refresh and old_refresh != grant.refresh_token:
        # Salesforce keeps at most 5 grants per user and app: give the old one back.
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


def connection_mark_healthy(
    *, connection: SalesforceConnection, userinfo: dict
) -> SalesforceConnection:
    """A health check passed: store who and which org answered, mark the connection
    connected (again) and clear the last error."""
    connection.refresh_from_db()
    connection.sf_username = userinfo.get("preferred_username") or connection.sf_username
    connection.sf_user_id = userinfo.get("user_id") or connection.sf_user_id
    connection.sf_org_id = userinfo.get("organization_id") or connection.sf_org_id
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
    return connection


def connection_usage_store(*, connection: SalesforceConnection, used: int, limit: int) -> None:
    """Record the daily API usage Salesforce reported (one UPDATE, only when it changed)."""
    if (connection.api_usage, connection.api_limit) == (used, limit):
        return
    connection.api_usage, connection.api_limit = used, limit
    SalesforceConnection.objects.filter(pk=connection.pk).update(api_usage=used, api_limit=limit)


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

"""The connection health check ("Test connection", right after connecting, and hourly).

connection_test(*, connection) -> SalesforceError | None
connections_check_all() -> tuple[int, int]      (checked, failed)
"""

from __future__ import annotations

import logging

from integrations.connection import services, tokens
from integrations.models import SalesforceConnection
from integrations.salesforce.errors import Kind, SalesforceError

logger = logging.getLogger(__name__)


def connection_test(*, connection: SalesforceConnection) -> SalesforceError | None:
    """A refresh-token grant (so token-endpoint policies surface now, not in two hours),
    then userinfo and /limits. Records the outcome on the connection; returns the error,
    None when healthy. A passing check makes a needs_reconnect connection connected again."""
    if not connection.has_tokens:
        return SalesforceError(Kind.CONNECTION, "NOT_CONNECTED", "Not connected yet.")
    try:
        connection = tokens.connection_token_refresh(
            connection=connection, failed_access_token=None
        )
        client = tokens.client_for(connection)
        info = client.userinfo()
        client.limits()
    except SalesforceError as error:
        connection.refresh_from_db()
        services.connection_record_failure(connection=connection, error=error)
        return error
    services.connection_mark_healthy(connection=connection, userinfo=info)
    return None


def connections_check_all() -> tuple[int, int]:
    """`connection_test` of every connected connection, so a revoked grant or a changed
    org policy shows on the connection page before a booking fails. Returns (checked,
    failed)."""
    ids = list(
        SalesforceConnection.objects.filter(
            status=SalesforceConnection.Status.CONNECTED
        ).values_list("pk", flat=True)
    )
    failed = 0
    for pk in ids:
        connection = SalesforceConnection.objects.filter(pk=pk).first()
        if connection is None:
            continue
        error = connection_test(connection=connection)
        if error is not None:
            failed += 1
            logger.warning(
                "Connection check failed: tenant=%s %s", connection.tenant_id, error.code
            )
    return len(ids), failed

"""Celery tasks of the mapping issue: schema refresh and connection health.

Thin: load rows, call a service. Safe to run twice (each run re-reads and re-checks).
"""

from __future__ import annotations

import logging

from celery import shared_task

from integrations import mappings, services
from integrations.models import SalesforceConnection

logger = logging.getLogger(__name__)


@shared_task(name="integrations.schemas_refresh_all")
def schemas_refresh_all() -> dict:
    """Daily: re-describe every mapped object and flag mappings the schema now breaks."""
    report = mappings.schemas_refresh_all()
    return {"refreshed": len(report.refreshed), "failed": len(report.failed)}


@shared_task(name="integrations.connections_check_all")
def connections_check_all() -> dict:
    """Hourly: the health check (connection_test) of every connected connection, so a
    revoked grant or a changed org policy shows on the connection page before a booking."""
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
        error = services.connection_test(connection=connection)
        if error is not None:
            failed += 1
            logger.warning(
                "Connection check failed: tenant=%s %s", connection.tenant_id, error.code
            )
    return {"checked": len(ids), "failed": failed}

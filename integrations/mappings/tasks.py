"""Celery tasks of the mapping concern (thin; safe to run twice: each run re-reads and
re-checks).

integrations.schemas_refresh_all()   beat, daily
integrations.schema_recheck(connection_id, sobject)   after a field-related failure
"""

from __future__ import annotations

import datetime as dt

from celery import shared_task

from integrations.mappings import services
from integrations.models import SalesforceConnection

#: Matches integrations.delivery.services.SCHEMA_RECHECK_INTERVAL (which enqueues this).
RECHECK_MIN_AGE = dt.timedelta(minutes=5)


@shared_task(name="integrations.schemas_refresh_all")
def schemas_refresh_all() -> dict:
    """Daily: re-describe every mapped object and flag mappings the schema now breaks."""
    report = services.schemas_refresh_all()
    return {"refreshed": len(report.refreshed), "failed": len(report.failed)}


@shared_task(name="integrations.schema_recheck")
def schema_recheck(connection_id: int, sobject: str) -> bool:
    """A delivery failed on a field of `sobject`: re-read its fields and re-check the
    targets using it (skipped when read in the last few minutes). Returns whether it ran."""
    connection = SalesforceConnection.objects.filter(pk=connection_id).first()
    if connection is None:
        return False
    schema = services.schema_recheck(
        connection=connection, sobject=sobject, min_age=RECHECK_MIN_AGE
    )
    return schema is not None

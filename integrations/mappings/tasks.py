"""Celery tasks of the mapping concern (thin; safe to run twice: each run re-reads and
re-checks).

integrations.schemas_refresh_all()   beat, daily
"""

from __future__ import annotations

from celery import shared_task

from integrations.mappings import services


@shared_task(name="integrations.schemas_refresh_all")
def schemas_refresh_all() -> dict:
    """Daily: re-describe every mapped object and flag mappings the schema now breaks."""
    report = services.schemas_refresh_all()
    return {"refreshed": len(report.refreshed), "failed": len(report.failed)}

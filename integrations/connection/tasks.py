"""Celery tasks of the connection concern (thin; safe to run twice).

integrations.connections_check_all()   beat, hourly
"""

from __future__ import annotations

from celery import shared_task

from integrations.connection import health


@shared_task(name="integrations.connections_check_all")
def connections_check_all() -> dict:
    """Hourly: the health check of every connected connection."""
    checked, failed = health.connections_check_all()
    return {"checked": checked, "failed": failed}

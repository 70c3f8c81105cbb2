"""Celery tasks of the dashboard: alerts, digests, retention, bulk services.
Thin: each calls a service; each is safe to run twice.

    integrations.alerts_send()           beat, every 5 minutes (throttled in the database)
    integrations.resend_jobs_resume()    beat, every 5 minutes: stalled resend jobs
    integrations.deliveries_prune()      beat, daily
    integrations.resend_job_run(job_id)  one chunk of a "Resend all matching" job, then the next
"""

from __future__ import annotations

import logging

from celery import shared_task

from integrations.dashboard import alerts, services

logger = logging.getLogger(__name__)


@shared_task(name="integrations.alerts_send")
def alerts_send() -> int:
    """Send due failure alerts and digests. Returns emails sent."""
    return alerts.alerts_send()


@shared_task(name="integrations.resend_jobs_resume")
def resend_jobs_resume() -> int:
    """Re-enqueue resend jobs that made no progress for a while. Returns how many."""
    return len(services.resend_jobs_resume())


@shared_task(name="integrations.deliveries_prune")
def deliveries_prune() -> int:
    """Prune payloads and attempts of old sent deliveries. Returns attempts deleted."""
    return services.deliveries_prune()


@shared_task(name="integrations.resend_job_run", bind=True)
def resend_job_run(self, job_id: int) -> bool:
    """Resend one chunk of job `job_id` and enqueue the next on the same queue. Returns
    whether more remain."""
    try:
        more = services.resend_job_step(job_id=job_id)
    except Exception as exc:
        logger.exception("Resend job %s failed", job_id)
        services.resend_job_fail(job_id=job_id, error=f"{type(exc).__name__}: {exc}")
        raise
    if more:
        queue = (self.request.delivery_info or {}).get("routing_key")
        services.resend_job_enqueue(job_id=job_id, queue=queue)
    return more

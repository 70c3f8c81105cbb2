"""Celery tasks of the dashboard issue: alerts, digests, retention, bulk resend.
Thin: each calls a service; each is safe to run twice.

    integrations.alerts_send()           beat, every 5 minutes (throttled in the database)
    integrations.deliveries_prune()      beat, daily
    integrations.resend_job_run(job_id)  one chunk of a "Resend all matching" job, then the next
"""

from __future__ import annotations

import logging

from celery import shared_task

from integrations import alerts, resend

logger = logging.getLogger(__name__)


@shared_task(name="integrations.alerts_send")
def alerts_send() -> int:
    """Send due failure alerts and digests; resume stalled resend jobs. Returns emails sent."""
    resend.resend_jobs_resume()
    return alerts.alerts_send()


@shared_task(name="integrations.deliveries_prune")
def deliveries_prune() -> int:
    """Prune payloads and attempts of old sent deliveries. Returns attempts deleted."""
    return resend.deliveries_prune()


@shared_task(name="integrations.resend_job_run", bind=True)
def resend_job_run(self, job_id: int) -> bool:
    """Resend one chunk of job `job_id` and enqueue the next on the same queue. Returns
    whether more remain."""
    try:
        more = resend.resend_job_step(job_id=job_id)
    except Exception as exc:
        logger.exception("Resend job %s failed", job_id)
        resend.resend_job_fail(job_id=job_id, error=f"{type(exc).__name__}: {exc}")
        raise
    if more:
        queue = (self.request.delivery_info or {}).get("routing_key")
        resend.resend_job_enqueue(job_id=job_id, queue=queue)
    return more

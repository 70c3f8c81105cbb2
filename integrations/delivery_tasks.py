"""Celery tasks of the delivery pipeline (thin: load rows, call a service, safe to run twice).

integrations.delivery_push(connection_id)   drain due deliveries of one connection
integrations.deliveries_sweep()             beat, every DELIVERY_SWEEP_SECONDS
"""

from __future__ import annotations

import functools
import logging

from celery import shared_task
from celery.contrib.django.task import DjangoTask
from django.db import transaction

from integrations import delivery, delivery_services

logger = logging.getLogger(__name__)


class OutboxTask(DjangoTask):
    """A task enqueued from the outbox: `delay_on_commit` never raises into the request
    that committed (a broker outage is logged; the sweeper enqueues the work later)."""

    def delay_on_commit(self, *args, **kwargs) -> None:
        transaction.on_commit(functools.partial(self.delay_or_log, *args, **kwargs))

    def delay_or_log(self, *args, **kwargs) -> bool:
        """`delay`, or log why the broker refused. Returns whether it was enqueued."""
        try:
            self.delay(*args, **kwargs)
        except Exception as exc:  # any broker failure: the row is saved, the sweeper retries
            logger.warning(
                "Could not enqueue %s%s (%s: %s); the sweeper will pick it up.",
                self.name,
                args,
                type(exc).__name__,
                exc,
            )
            return False
        return True


@shared_task(name="integrations.delivery_push", base=OutboxTask)
def delivery_push(connection_id: int) -> int:
    """Send the due deliveries of one connection. Returns how many were claimed."""
    return delivery.deliveries_push(connection_id=connection_id).claimed


@shared_task(name="integrations.deliveries_sweep", base=OutboxTask)
def deliveries_sweep() -> int:
    """Reclaim stale claims, release held deliveries of reconnected connections, enqueue
    due pushes. Returns how many connections were enqueued."""
    return len(delivery_services.deliveries_sweep())

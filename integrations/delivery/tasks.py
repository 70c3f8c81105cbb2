"""Celery tasks of the delivery pipeline (thin: call a service, safe to run twice).

integrations.delivery_push(connection_id[, resumed])  drain due deliveries of one connection
integrations.deliveries_sweep()             beat, every DELIVERY_SWEEP_SECONDS

Services enqueue these by name (leadsync.enqueue); the names never change.
"""

from __future__ import annotations

from celery import shared_task

from integrations.delivery import push, services


@shared_task(name="integrations.delivery_push", bind=True)
def delivery_push(self, connection_id: int, resumed: bool = False) -> int:
    """Send the due deliveries of one connection (`resumed`: the rest of its backlog,
    after other orgs' turn). Returns how many were claimed. Work it hands on goes to the
    queue it came from."""
    services.push_started(connection_id)
    queue = (self.request.delivery_info or {}).get("routing_key")
    return push.deliveries_push(connection_id=connection_id, queue=queue, resumed=resumed).claimed


@shared_task(name="integrations.deliveries_sweep")
def deliveries_sweep() -> int:
    """Reclaim stale claims, release held deliveries of reconnected connections, enqueue
    due pushes. Returns how many connections were enqueued."""
    return len(services.deliveries_sweep())

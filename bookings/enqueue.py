"""Enqueue bookings' Celery tasks by name, after commit, never failing the caller.

The same contract as integrations.enqueue (which bookings may not import): a task's name
is the only link between services and tasks, and a broker failure is logged, never
raised. The row is in the database; the minute sweep (bookings.guest_emails_sweep)
enqueues it later.
"""

from __future__ import annotations

import functools
import logging
from typing import Any

from celery import current_app
from django.db import transaction

logger = logging.getLogger(__name__)


def task_send(name: str, *args: Any) -> bool:
    """Enqueue task `name` with `args`. Returns whether the broker took it."""
    try:
        # No retry and no result: with Redis down the request answers at once.
        current_app.signature(name, args=args).apply_async(retry=False, ignore_result=True)
    except Exception as exc:  # any broker failure: the row is saved, the sweep retries
        logger.warning(
            "Could not enqueue %s%s (%s: %s); the sweep will pick it up.",
            name,
            args,
            type(exc).__name__,
            exc,
        )
        return False
    return True


def task_send_on_commit(name: str, *args: Any) -> None:
    """`task_send` when the current transaction commits (never raises into the request)."""
    transaction.on_commit(functools.partial(_task_send_late, name, *args))


def _task_send_late(name: str, *args: Any) -> bool:
    # Looked up when the transaction commits, so tests can patch `task_send`.
    return task_send(name, *args)

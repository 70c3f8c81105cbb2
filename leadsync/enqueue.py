"""Enqueue Celery tasks by name, for both apps. Services use this instead of importing
task modules, so effects run one way (tasks import services, never the reverse) and a
task's name is the only contract: it stays the same string across deploys, so queued
messages survive.

A broker failure is logged, never raised: the work is in the database, and beat's
sweepers enqueue it later.
"""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Callable
from typing import Any

from celery import current_app
from django.core.cache import caches
from django.db import transaction

from leadsync import cache

logger = logging.getLogger(__name__)


#: After a failed publish, this process does not try the broker again for this long:
#: a request that would publish twice (a booking's push and its email) answers after one
#: failed try, not two. The work is in the database either way; the sweepers send it.
BROKER_DOWN_SECONDS = 5.0
_broker_down_until = 0.0


def task_send(name: str, *args: Any, queue: str | None = None) -> bool:
    """Enqueue task `name` with `args` (on `queue`; default routing when None). Returns
    whether the broker took it (False at once, without a try, for BROKER_DOWN_SECONDS
    after a failed one)."""
    global _broker_down_until
    if time.monotonic() < _broker_down_until:
        logger.info("Broker down a moment ago: %s%s left to the sweeper.", name, args)
        return False
    options = {"queue": queue} if queue else {}
    try:
        # A signature runs through the registered task's own apply_async when the task
        # is known in this process, else through send_task with the same name. No retry
        # and no result: with Redis down the request answers at once (the sweeper sends
        # the work later) instead of waiting for the broker or the result backend.
        current_app.signature(name, args=args).apply_async(
            retry=False, ignore_result=True, **options
        )
    except Exception as exc:  # any broker failure: the row is saved, a sweeper retries
        _broker_down_until = time.monotonic() + BROKER_DOWN_SECONDS
        logger.warning(
            "Could not enqueue %s%s (%s: %s); the sweeper will pick it up.",
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


def send_unless_queued(marker: str, *, timeout: int, send: Callable[[], bool]) -> bool:
    """Call `send` (it enqueues a task and says whether the broker took it) unless
    `marker`, in the coordination cache, says such a task is queued already: a burst of
    work costs one task, not one each. The marker is set first and lasts `timeout`
    seconds at most (a lost message); whoever starts or ends the task clears it
    (`marker_clear`). An unreachable cache only means a task more. Returns whether a
    task is queued; inside a `leadsync.cache.writes_batched()` block, where the marker's
    write and so the send wait for the block's end, True (one is, or will be tried)."""
    queued: list[bool] = []

    def marker_set(added: bool | Exception) -> None:
        if isinstance(added, Exception):  # an optimisation, never a reason to lose work
            logger.warning("Marker %s not set (%s): enqueueing anyway", marker, added)
            added = True
        if not added or send():
            queued.append(True)
            return
        marker_clear(marker)  # nothing is queued after all
        queued.append(False)

    cache.write("coordination", "add", marker, 1, timeout=timeout, then=marker_set)
    return queued[0] if queued else True


def marker_clear(marker: str) -> None:
    """Work arriving from now on needs a task of its own (see `send_unless_queued`)."""
    try:
        caches["coordination"].delete(marker)
    except Exception as exc:  # the marker expires by itself
        logger.warning("Marker %s not cleared (%s)", marker, exc)

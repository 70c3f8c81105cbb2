"""Claims: which worker sends which delivery.

    deliveries_claim(*, connection_id, limit) -> Claim
    claim_lease_kept(claim)          context manager: renews the claim's lease meanwhile
    deliveries_reclaim_stale(*, connection_id=None) -> int

Claims are atomic (`SELECT ... FOR UPDATE SKIP LOCKED`, then a conditional UPDATE that
stamps a claim token): two workers never send the same delivery, and a result is only
written while its claim holds (a claim taken back is not overwritten by its late worker).

A claim is a lease (`lease_until`, DELIVERY_LEASE_SECONDS): the push renews it from a
thread while it sends, so a slow but alive push keeps its claim however long Salesforce
takes, and the claims of a killed worker or of a push that lost its database lapse within
one lease and are taken back by the next sweep or push.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import DatabaseError, connections, transaction
from django.db.models import F, Max, Q
from django.utils import timezone

from integrations.delivery.selectors import deliveries_due
from integrations.models import Delivery, DeliveryAttempt
from leadsync.compiled import STAND_IN_ID, STAND_IN_TIME, STAND_IN_UUID, CompiledQuery

logger = logging.getLogger(__name__)
Status = Delivery.Status

CLAIM_EXPIRED = "CLAIM_EXPIRED"
CLAIM_EXPIRED_MESSAGE = (
    "The worker sending this stopped before Salesforce's answer was recorded; sending again."
)


@dataclass
class Claim:
    token: uuid.UUID
    deliveries: list[Delivery]


def deliveries_claim(*, connection_id: int, limit: int) -> Claim:
    """Claim up to `limit` due deliveries of one connection (oldest due first): they turn
    `sending` under a new claim token, and their attempt count goes up by one."""
    token, now = uuid.uuid4(), timezone.now()
    with transaction.atomic():
        rows = _CLAIMABLE.rows(shape=limit, connection_id=connection_id, now=now)
        ids = [pk for (pk,) in rows]
        if ids:
            Delivery.objects.filter(pk__in=ids).update(
                status=Status.SENDING,
                claim_token=token,
                claimed_at=now,
                lease_until=_lease_end(now),
                attempts=F("attempts") + 1,
                updated_at=now,
            )
    deliveries = _CLAIMED.objects(connection_id=connection_id, token=token) if ids else []
    return Claim(token=token, deliveries=deliveries)


#: The due deliveries a claim takes, oldest due first, locked (compiled once per limit).
_CLAIMABLE = CompiledQuery(
    lambda *, shape, connection_id, now: (
        deliveries_due(connection_id=connection_id, now=now)
        # Only the deliveries: a write-back's due-ness reads its post, not locks it.
        .select_for_update(skip_locked=True, of=("self",))
        .order_by("next_attempt_at", "pk")
        .values_list("pk")[:shape]
    ),
    connection_id=STAND_IN_ID,
    now=STAND_IN_TIME,
)


#: The deliveries a claim took, with what a push reads of them (compiled once): those its
#: new token marks, found among the connection's `sending` ones (delivery_connection_status).
_CLAIMED = CompiledQuery(
    lambda *, connection_id, token: (
        Delivery.objects.filter(
            connection_id=connection_id, status=Status.SENDING, claim_token=token
        )
        .select_related("booking__page__tenant", "target", "post", "change")
        .prefetch_related("target__write_back_fields")
        .order_by("pk")
    ),
    connection_id=STAND_IN_ID,
    token=STAND_IN_UUID,
)


def _lease_end(now: datetime) -> datetime:
    return now + timedelta(seconds=settings.DELIVERY_LEASE_SECONDS)


def claim_lease_renew(*, token: uuid.UUID) -> int:
    """Extend the lease of every delivery still `sending` under `token`. Returns how many."""
    now = timezone.now()
    return Delivery.objects.filter(claim_token=token, status=Status.SENDING).update(
        lease_until=_lease_end(now)
    )


@contextlib.contextmanager
def claim_lease_kept(claim: Claim) -> Iterator[None]:
    """Renew `claim`'s lease every third of DELIVERY_LEASE_SECONDS while the block runs
    (from a thread with its own database connection). A failed renewal is logged and tried
    again: if the database is gone the lease lapses, which is the point."""
    stop = threading.Event()
    interval = settings.DELIVERY_LEASE_SECONDS / 3

    def renew() -> None:
        try:
            while not stop.wait(interval):
                try:
                    claim_lease_renew(token=claim.token)
                except DatabaseError as error:
                    logger.warning("Could not renew a claim's lease: %s", error)
        finally:
            connections.close_all()  # this thread's own connection

    thread = threading.Thread(target=renew, name=f"lease-{claim.token}", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()


def deliveries_reclaim_stale(*, connection_id: int | None = None) -> int:
    """Take back deliveries `sending` whose lease lapsed: their worker died or lost the
    database before recording Salesforce's answer. Each gets an attempt row (outcome
    unknown) and is due again now; the resend is safe (upsert, or a lookup by key first
    in create mode). Returns how many."""
    now = timezone.now()
    with transaction.atomic():
        stale = Delivery.objects.select_for_update(skip_locked=True).filter(
            Q(lease_until__lt=now)
            # Claimed before leases existed: the claim time plus one lease.
            | Q(
                lease_until__isnull=True,
                claimed_at__lt=now - timedelta(seconds=settings.DELIVERY_LEASE_SECONDS),
            ),
            status=Status.SENDING,
        )
        if connection_id is not None:
            stale = stale.filter(connection_id=connection_id)
        rows = list(stale.values_list("pk", "claimed_at", "retries"))
        if not rows:
            return 0
        # A lost claim counts as a failed try: a delivery whose pushes keep dying (a worker
        # killed again and again, a push over the task time limit) ends failed and shown
        # on the dashboard, instead of being taken back forever.
        spent = {pk for pk, _, retries in rows if retries >= len(settings.DELIVERY_RETRY_DELAYS)}
        _expired_attempts_create(rows, spent, now)
        _expired_claims_release(rows, spent, now)
    logger.warning(
        "Stale delivery claims taken back: %s (failed: %s)", [r[0] for r in rows], sorted(spent)
    )
    return len(rows)


def expired_claim_starts(deliveries: list[Delivery]) -> dict[int, float]:
    """{delivery id: when its lapsed claim began (epoch seconds)} for those of `deliveries`
    whose last claim lapsed: a record found by key counts as written by that try only if
    Salesforce touched it since. One query."""
    ids = [d.pk for d in deliveries if d.last_error_code == CLAIM_EXPIRED]
    if not ids:
        return {}
    rows = (
        DeliveryAttempt.objects.filter(delivery_id__in=ids, error_code=CLAIM_EXPIRED)
        .values("delivery_id")
        .annotate(started=Max("started_at"))
        .values_list("delivery_id", "started")
    )
    return {pk: started.timestamp() for pk, started in rows}


def _expired_attempts_create(
    rows: list[tuple[int, datetime, int]], spent: set[int], now: datetime
) -> None:
    """One attempt row per expired claim: outcome unknown, retried or (spent) failed."""
    DeliveryAttempt.objects.bulk_create(
        DeliveryAttempt(
            delivery_id=pk,
            started_at=claimed_at,
            duration_ms=round((now - claimed_at).total_seconds() * 1000),
            operation="claim expired",
            outcome=(
                DeliveryAttempt.Outcome.FAILED if pk in spent else DeliveryAttempt.Outcome.RETRY
            ),
            error_code=CLAIM_EXPIRED,
            message=CLAIM_EXPIRED_MESSAGE,
        )
        for pk, claimed_at, _ in rows
    )


def _expired_claims_release(
    rows: list[tuple[int, datetime, int]], spent: set[int], now: datetime
) -> None:
    """Expired claims: `spent` ones fail, the others are due again now (one retry spent)."""
    cleared = {
        "claim_token": None,
        "lease_until": None,
        "last_error_code": CLAIM_EXPIRED,
        "last_error_fields": [],
    }
    Delivery.objects.filter(pk__in=spent).update(
        status=Status.FAILED,
        next_attempt_at=None,
        last_error_message=CLAIM_EXPIRED_MESSAGE
        + " Its sending never finished in all the retries.",
        updated_at=now,
        **cleared,
    )
    Delivery.objects.filter(pk__in=[pk for pk, _, _ in rows if pk not in spent]).update(
        status=Status.RETRYING,
        retries=F("retries") + 1,
        next_attempt_at=now,
        last_error_message=CLAIM_EXPIRED_MESSAGE,
        updated_at=now,
        **cleared,
    )

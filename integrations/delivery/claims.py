"""Claims: which worker sends which delivery.

    deliveries_claim(*, connection_id, limit) -> Claim
    deliveries_reclaim_stale(*, connection_id=None) -> int

Claims are atomic (`SELECT ... FOR UPDATE SKIP LOCKED`, then a conditional UPDATE that
stamps a claim token): two workers never send the same delivery, and a result is only
written while its claim holds (a claim taken back is not overwritten by its late worker).
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from integrations.delivery.selectors import deliveries_due
from integrations.models import Delivery, DeliveryAttempt

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
        ids = list(
            deliveries_due(connection_id=connection_id, now=now)
            .select_for_update(skip_locked=True)
            .order_by("next_attempt_at", "pk")
            .values_list("pk", flat=True)[:limit]
        )
        if ids:
            Delivery.objects.filter(pk__in=ids).update(
                status=Status.SENDING,
                claim_token=token,
                claimed_at=now,
                attempts=F("attempts") + 1,
                updated_at=now,
            )
    deliveries = list(
        Delivery.objects.filter(pk__in=ids, claim_token=token)
        .select_related("booking__page__tenant", "target")
        .order_by("pk")
    )
    return Claim(token=token, deliveries=deliveries)


def deliveries_reclaim_stale(*, connection_id: int | None = None) -> int:
    """Take back deliveries `sending` for longer than DELIVERY_SENDING_TIMEOUT: their
    worker died or lost the database before recording Salesforce's answer. Each gets an
    attempt row (outcome unknown) and is due again now; the resend is safe (upsert, or
    a lookup by key first in create mode). Returns how many."""
    now = timezone.now()
    cutoff = now - timedelta(seconds=settings.DELIVERY_SENDING_TIMEOUT)
    with transaction.atomic():
        stale = Delivery.objects.select_for_update(skip_locked=True).filter(
            status=Status.SENDING, claimed_at__lt=cutoff
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
    cleared = {"claim_token": None, "last_error_code": CLAIM_EXPIRED, "last_error_fields": []}
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

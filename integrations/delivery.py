"""The push: claim due deliveries of one connection, build their records, send them
(integrations.salesforce.push) and write each outcome back, with an attempt row each.

    deliveries_push(*, connection_id: int) -> PushReport
    deliveries_claim(*, connection_id: int, limit: int) -> Claim

Claims are atomic (`SELECT ... FOR UPDATE SKIP LOCKED` then a conditional UPDATE that
stamps a claim token): two workers never send the same delivery, and a result is only
written while its claim holds (a stale claim taken back by the sweeper is not overwritten
by its late worker). Outcomes (DESIGN.md "Error classes"):

- sent: the Salesforce id is stored.
- transient: `retrying`, `next_attempt_at` after delivery_retry_delay(attempts);
  `failed` once the schedule is used up. REQUEST_LIMIT_EXCEEDED also pauses the
  connection (every due delivery waits DELIVERY_API_PAUSE_SECONDS).
- session (still refused after the client's one refresh) and connection: the connection
  turns needs_reconnect and all its deliveries are held (deliveries_hold).
- permanent, or refused by our pre-send check: `failed` at once with the error's code,
  message and fields.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from integrations import delivery_services
from integrations.delivery_selectors import RecordBuilder
from integrations.models import Delivery, DeliveryAttempt, SalesforceConnection
from integrations.salesforce.client import client_for
from integrations.salesforce.errors import Kind, SalesforceError
from integrations.salesforce.push import PushItem, PushOutcome, records_push
from integrations.salesforce.schema import WriteMode

logger = logging.getLogger(__name__)
Status = Delivery.Status
Outcome = DeliveryAttempt.Outcome

API_USAGE_PAUSED = "API_USAGE_PAUSED"
REQUEST_LIMIT_EXCEEDED = "REQUEST_LIMIT_EXCEEDED"


@dataclass
class Claim:
    token: uuid.UUID
    deliveries: list[Delivery]


@dataclass
class PushReport:
    """What one push task did (for logs, tests and the bench)."""

    claimed: int = 0
    sent: int = 0
    retrying: int = 0
    failed: int = 0
    held: int = 0
    paused: bool = False
    outcomes: dict[str, int] = field(default_factory=dict)


def deliveries_claim(*, connection_id: int, limit: int) -> Claim:
    """Claim up to `limit` due deliveries of one connection (oldest due first): they turn
    `sending` under a new claim token, and their attempt count goes up by one."""
    token, now = uuid.uuid4(), timezone.now()
    with transaction.atomic():
        ids = list(
            _due(connection_id, now)
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


def _due(connection_id: int, now: datetime | None = None):
    return Delivery.objects.filter(
        connection_id=connection_id,
        status__in=delivery_services.DUE_STATUSES,
        next_attempt_at__lte=now or timezone.now(),
    )


def deliveries_push(*, connection_id: int) -> PushReport:
    """Drain the due deliveries of one connection: claim (up to DELIVERY_BATCH_SIZE), send,
    record; again while more are due, at most DELIVERY_DRAIN_ROUNDS times. Safe to run
    twice and concurrently. Returns a PushReport."""
    report = PushReport()
    if not _due(connection_id).exists():
        return report  # the common case when many bookings enqueued one push each
    connection = SalesforceConnection.objects.filter(pk=connection_id).first()
    if connection is None:
        return report
    delivery_services.deliveries_reclaim_stale(connection_id=connection_id)
    client = client_for(connection)
    builder = RecordBuilder(connection=connection, client=client)
    for _ in range(settings.DELIVERY_DRAIN_ROUNDS):
        connection.refresh_from_db()
        if not connection.is_connected:
            delivery_services.deliveries_hold_not_connected(connection=connection)
            break
        if _paused(connection, client, report):
            break
        claim = deliveries_claim(connection_id=connection_id, limit=settings.DELIVERY_BATCH_SIZE)
        if not claim.deliveries:
            break
        report.claimed += len(claim.deliveries)
        if not _send(connection, client, builder, claim, report):
            break
    logger.info(
        "Push done: tenant=%s connection=%s claimed=%s sent=%s retrying=%s failed=%s held=%s",
        connection.tenant_id,
        connection.pk,
        report.claimed,
        report.sent,
        report.retrying,
        report.failed,
        report.held,
    )
    return report


# -- one claim ------------------------------------------------------------------------------


def _send(
    connection: SalesforceConnection,
    client,
    builder: RecordBuilder,
    claim: Claim,
    report: PushReport,
) -> bool:
    """Build, check, send and record one claim. Returns False when sending must stop
    (the connection was refused or paused)."""
    groups: dict[tuple[str, str, str], list[tuple[Delivery, PushItem]]] = {}
    payloads: dict[int, dict | None] = {}
    recorded: set[int] = set()
    limit_reached = False
    for delivery in claim.deliveries:
        built = builder.build(delivery)
        if built.error is not None:
            outcome = built.outcome()
            _record(claim, [(delivery, outcome, built.stored_payload)], report)
            recorded.add(delivery.pk)
            if _refuses_connection(outcome):
                _hold_claim(connection, claim, outcome, recorded, report)
                return False
            limit_reached |= outcome.error.code == REQUEST_LIMIT_EXCEEDED
            continue
        item = PushItem(
            ref=delivery.pk,
            record=built.record,
            key=built.key,
            lookup_first=built.write_mode is WriteMode.INSERT and delivery.attempts > 1,
        )
        group = (built.sobject, built.write_mode.value, built.key_field)
        groups.setdefault(group, []).append((delivery, item))
        payloads[delivery.pk] = built.record if built.fresh else None

    for (sobject, write_mode, key_field), members in groups.items():
        outcomes = records_push(
            client,
            sobject=sobject,
            write_mode=WriteMode(write_mode),
            key_field=key_field,
            items=[item for _, item in members],
            batching=settings.DELIVERY_BATCHING,
        )
        refused = None
        entries = [
            # Found the record an unclear earlier try created: create mode does not update
            # it, so a freshly built payload was never sent and is not recorded as sent.
            (delivery, outcome, None if outcome.found_existing else payloads[delivery.pk])
            for (delivery, _), outcome in zip(members, outcomes, strict=True)
        ]
        _record(claim, entries, report)
        for delivery, outcome, _ in entries:
            recorded.add(delivery.pk)
            if _refuses_connection(outcome):
                refused = outcome
            elif outcome.error is not None and outcome.error.code == REQUEST_LIMIT_EXCEEDED:
                limit_reached = True
        if refused is not None:
            _hold_claim(connection, claim, refused, recorded, report)
            return False
    if limit_reached:
        delivery_services.deliveries_pause(
            connection=connection,
            code=REQUEST_LIMIT_EXCEEDED,
            message="Salesforce refused: the org's daily API limit is reached. Paused.",
        )
        report.paused = True
    return not limit_reached


def _refuses_connection(outcome: PushOutcome) -> bool:
    return outcome.error is not None and outcome.error.kind in (Kind.CONNECTION, Kind.SESSION)


def _hold_claim(
    connection: SalesforceConnection,
    claim: Claim,
    refused: PushOutcome,
    recorded: set[int],
    report: PushReport,
) -> None:
    """Salesforce refused the connection: the rest of the claim is held with the same
    error (an attempt row each), then every other due delivery of the connection."""
    rest = [(d, refused, None) for d in claim.deliveries if d.pk not in recorded]
    _record(claim, rest, report)
    report.held += delivery_services.deliveries_hold(
        connection=connection, error=refused.error, claim_token=claim.token
    )


RESULT_FIELDS = [
    "status", "claim_token", "updated_at", "payload", "sf_record_id", "sent_at",
    "next_attempt_at", "last_error_code", "last_error_message", "last_error_fields", "retries",
]  # fmt: skip


def _record(
    claim: Claim,
    entries: list[tuple[Delivery, PushOutcome, dict | None]],
    report: PushReport,
) -> None:
    """Write outcomes on their deliveries — only those our claim still holds (a claim
    taken back meanwhile belongs to someone else now) — and an attempt row for each, in
    one transaction and a few statements. `entries`: (delivery, outcome, fresh payload)."""
    if not entries:
        return
    now = timezone.now()
    attempts = []
    for delivery, outcome, payload in entries:
        error = outcome.error
        delivery.claim_token, delivery.updated_at = None, now
        if payload is not None:
            delivery.payload = payload
        if error is None:
            attempt_outcome = Outcome.SENT
            delivery.status, delivery.sent_at, delivery.next_attempt_at = Status.SENT, now, None
            delivery.sf_record_id = outcome.record_id or ""
            delivery.last_error_code = delivery.last_error_message = ""
            delivery.last_error_fields = []
        else:
            attempt_outcome, delivery.status, delivery.next_attempt_at = _after_error(
                delivery, error, now
            )
            delivery.last_error_code = error.code[:100]
            delivery.last_error_message = error.message
            delivery.last_error_fields = error.fields
        attempts.append(
            DeliveryAttempt(
                delivery_id=delivery.pk,
                started_at=datetime.fromtimestamp(outcome.started_at, tz=UTC),
                duration_ms=outcome.duration_ms,
                operation=outcome.operation,
                api_call_id=outcome.api_call_id,
                outcome=attempt_outcome,
                http_status=outcome.http_status,
                error_code=error.code[:100] if error else "",
                message=_attempt_message(outcome),
                fields=error.fields if error else [],
                sf_record_id=outcome.record_id or "",
            )
        )
    with transaction.atomic():
        ours = set(
            Delivery.objects.select_for_update()
            .filter(pk__in=[d.pk for d, _, _ in entries], claim_token=claim.token)
            .values_list("pk", flat=True)
        )
        sent = [d for d, o, _ in entries if d.pk in ours and o.error is None]
        others = [d for d, o, _ in entries if d.pk in ours and o.error is not None]
        # The common case in few statements: what all sent rows share in one UPDATE,
        # then only what differs per row (Django's bulk_update builds a CASE per field).
        Delivery.objects.filter(pk__in=[d.pk for d in sent]).update(
            status=Status.SENT, claim_token=None, updated_at=now, sent_at=now,
            next_attempt_at=None, last_error_code="", last_error_message="",
            last_error_fields=[],
        )  # fmt: skip
        fresh = {d.pk for d, _, payload in entries if payload is not None}
        Delivery.objects.bulk_update([d for d in sent if d.pk not in fresh], ["sf_record_id"])
        Delivery.objects.bulk_update(
            [d for d in sent if d.pk in fresh], ["sf_record_id", "payload"], batch_size=200
        )
        Delivery.objects.bulk_update(others, RESULT_FIELDS, batch_size=200)
        # A claim taken back meanwhile belongs to another worker, which logs its own try.
        # A late success is still logged (a record was written), marked as not applied;
        # a late failure is not (alerts would count a failure for a delivery sent since).
        late = [a for a in attempts if a.delivery_id not in ours and a.outcome == Outcome.SENT]
        for attempt in late:
            attempt.message = (
                f"Arrived after the claim was taken back; not applied. {attempt.message}"
            )
        DeliveryAttempt.objects.bulk_create([a for a in attempts if a.delivery_id in ours] + late)
    for delivery, outcome, _ in entries:
        if delivery.pk not in ours:
            logger.warning("Result for a claim taken back meanwhile: delivery=%s", delivery.pk)
            continue
        setattr(report, delivery.status, getattr(report, delivery.status) + 1)
        if outcome.error is not None:
            code = outcome.error.code
            report.outcomes[code] = report.outcomes.get(code, 0) + 1
            logger.warning(
                "Delivery not sent: delivery=%s tenant=%s code=%s status=%s",
                delivery.pk,
                delivery.booking.page.tenant_id,
                code,
                delivery.status,
            )


def _after_error(
    delivery: Delivery, error: SalesforceError, now: datetime
) -> tuple[str, str, datetime | None]:
    """(attempt outcome, new status, next attempt) after `error`."""
    if error.kind in (Kind.CONNECTION, Kind.SESSION):
        return Outcome.HELD, Status.HELD, None
    if error.kind is Kind.TRANSIENT:
        if error.code == REQUEST_LIMIT_EXCEEDED:
            # The org's API limit: wait it out (a rolling 24 h window) without using up
            # the retry schedule, which is for faults of this record's own sending.
            return (
                Outcome.RETRY,
                Status.RETRYING,
                now + timedelta(seconds=settings.DELIVERY_API_PAUSE_SECONDS),
            )
        # `retries`, not `attempts`: a delivery staff resent (or a reconnect released)
        # starts the schedule afresh; `attempts` counts every try, for the create lookup.
        delivery.retries += 1
        delay = delivery_services.delivery_retry_delay(delivery.retries)
        if delay is not None:
            return Outcome.RETRY, Status.RETRYING, now + timedelta(seconds=delay)
    return Outcome.FAILED, Status.FAILED, None


def _attempt_message(outcome: PushOutcome) -> str:
    if outcome.error is not None:
        return outcome.error.message
    if outcome.found_existing:
        return (
            "Found the record an earlier attempt created; not created again (create mode "
            "does not update it, so a changed mapping is not applied to it)."
        )
    return "Created." if outcome.created else "Updated."


# -- connection-wide decisions -----------------------------------------------------------------


def _usage_high(connection: SalesforceConnection) -> bool:
    used, limit = connection.api_usage, connection.api_limit
    if not limit or used is None:
        return False
    return used >= settings.DELIVERY_API_USAGE_PAUSE_RATIO * limit


def _paused(connection: SalesforceConnection, client, report: PushReport) -> bool:
    """Near the daily API limit: do not claim; push due deliveries out by the pause and
    say why on each. When an earlier pause ran out, ask Salesforce for the current usage
    first (one /limits call) rather than trusting the stale figure."""
    if not _usage_high(connection):
        return False
    due = Delivery.objects.filter(
        connection=connection,
        status__in=delivery_services.DUE_STATUSES,
        next_attempt_at__lte=timezone.now(),
    )
    if due.filter(last_error_code__in=[API_USAGE_PAUSED, REQUEST_LIMIT_EXCEEDED]).exists():
        try:
            client.limits()  # stores the current usage on the connection
        except SalesforceError as error:
            logger.warning("Usage check failed: connection=%s %s", connection.pk, error.code)
        connection.refresh_from_db()
        if not _usage_high(connection):
            return False
    share = connection.api_usage / connection.api_limit
    delivery_services.deliveries_pause(
        connection=connection,
        code=API_USAGE_PAUSED,
        message=f"Paused: {connection.api_usage} of {connection.api_limit} daily API calls used "
        f"({share:.0%}, the pause starts at "
        f"{settings.DELIVERY_API_USAGE_PAUSE_RATIO:.0%}). Sending resumes when usage falls.",
    )
    report.paused = True
    return True

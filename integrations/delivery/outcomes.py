"""Outcomes: what Salesforce's answer (or our pre-send check) means for each delivery,
written back while the claim still holds. DESIGN.md "Error classes":

- sent: the Salesforce id is stored.
- transient: `retrying`, `next_attempt_at` after delivery_retry_delay(retries); `failed`
  once the schedule is used up. REQUEST_LIMIT_EXCEEDED waits DELIVERY_API_PAUSE_SECONDS
  without spending the schedule.
- session (still refused after the client's one refresh) and connection: `held`.
- permanent, or refused by our pre-send check: `failed` at once with the error's code,
  message and fields.

    outcomes_record(claim, entries, report) -> None
    write_backs_hold_for_posts(*, post_ids) -> int     posts failed / dismissed: held
    write_backs_release_for_posts(*, post_ids) -> int  posts sent: their turn
    delivery_retry_delay(retries) -> float | None
"""

from __future__ import annotations

import logging
import random
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from integrations.delivery.claims import Claim
from integrations.delivery.selectors import WAITING_FOR_POST, WAITING_FOR_POST_MESSAGE
from integrations.models import Delivery, DeliveryAttempt
from integrations.models.bulk import rows_update
from integrations.salesforce.errors import Kind, SalesforceError
from integrations.salesforce.person_push import PersonOutcome
from integrations.salesforce.push import PushOutcome
from integrations.salesforce.write_back import WriteBackOutcome

logger = logging.getLogger(__name__)
Status = Delivery.Status
Outcome = DeliveryAttempt.Outcome

REQUEST_LIMIT_EXCEEDED = "REQUEST_LIMIT_EXCEEDED"
JITTER = 0.2  # ± share of each retry delay, so retries of one outage spread out

#: (delivery, outcome, freshly built payload or None)
Entry = tuple[Delivery, PushOutcome | PersonOutcome | WriteBackOutcome, dict | None]

RESULT_FIELDS = [
    "status", "claim_token", "updated_at", "payload", "sf_record_id", "sent_at",
    "next_attempt_at", "last_error_code", "last_error_message", "last_error_fields", "retries",
    "steps", "event_id", "person_object",
]  # fmt: skip
#: What a sent person delivery stores beside the record id (steps, the Event).
PERSON_FIELDS = ["sf_record_id", "payload", "steps", "event_id", "person_object"]
#: What a sent write-back stores: the record it changed first, what it sent and did.
WRITE_BACK_FIELDS = ["sf_record_id", "payload", "steps"]


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


def delivery_retry_delay(retries: int) -> float | None:
    """Seconds to wait after the `retries`-th failed try (1-based), jittered by ±20 %;
    None when the schedule (DELIVERY_RETRY_DELAYS) is used up: the delivery fails."""
    delays = settings.DELIVERY_RETRY_DELAYS
    if retries < 1 or retries > len(delays):
        return None
    base = delays[retries - 1]
    return base * random.uniform(1 - JITTER, 1 + JITTER)  # noqa: S311 - not crypto


def outcomes_record(claim: Claim, entries: list[Entry], report: PushReport) -> None:
    """Write outcomes on their deliveries — only those our claim still holds (a claim
    taken back meanwhile belongs to someone else now) — and an attempt row for each, in
    one transaction and a few statements."""
    if not entries:
        return
    now = timezone.now()
    attempts = [
        _outcome_apply(delivery, outcome, payload, now) for delivery, outcome, payload in entries
    ]
    ours = _outcomes_write(claim, entries, attempts, now)
    _report(entries, ours, report)


def _outcome_apply(
    delivery: Delivery,
    outcome: PushOutcome | PersonOutcome | WriteBackOutcome,
    payload: dict | None,
    now: datetime,
) -> DeliveryAttempt:
    """Set the outcome on the (unsaved) delivery; return its attempt row."""
    error = outcome.error
    delivery.claim_token, delivery.updated_at = None, now
    if payload is not None:
        delivery.payload = payload
    if isinstance(outcome, PersonOutcome):
        # Each step's outcome stays, failed or not: a retry resumes where this one stopped.
        delivery.steps = outcome.steps
        delivery.sf_record_id = outcome.record_id or delivery.sf_record_id
        delivery.person_object = outcome.person_object or delivery.person_object
        delivery.event_id = outcome.event_id or delivery.event_id
    if isinstance(outcome, WriteBackOutcome):
        delivery.steps = outcome.steps  # operations done are not sent again
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
    return DeliveryAttempt(
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


def _outcomes_write(
    claim: Claim, entries: list[Entry], attempts: list[DeliveryAttempt], now: datetime
) -> set[int]:
    """Save the deliveries our claim still holds and their attempts; returns their ids."""
    with transaction.atomic():
        ours = set(
            Delivery.objects.select_for_update()
            .filter(pk__in=[d.pk for d, _, _ in entries], claim_token=claim.token)
            .values_list("pk", flat=True)
        )
        sent = [d for d, o, _ in entries if d.pk in ours and o.error is None]
        others = [d for d, o, _ in entries if d.pk in ours and o.error is not None]
        # The common case in few statements: what all sent rows share in one UPDATE,
        # then only what differs per row, joined to a VALUES list (models.bulk).
        Delivery.objects.filter(pk__in=[d.pk for d in sent]).update(
            status=Status.SENT, claim_token=None, updated_at=now, sent_at=now,
            next_attempt_at=None, last_error_code="", last_error_message="",
            last_error_fields=[],
        )  # fmt: skip
        fresh = {d.pk for d, _, payload in entries if payload is not None}
        people = {d.pk for d, o, _ in entries if isinstance(o, PersonOutcome)}
        changes = {d.pk for d, o, _ in entries if isinstance(o, WriteBackOutcome)}
        plain = [d for d in sent if d.pk not in people | changes]
        rows_update([d for d in plain if d.pk not in fresh], ["sf_record_id"])
        rows_update([d for d in plain if d.pk in fresh], ["sf_record_id", "payload"])
        rows_update([d for d in sent if d.pk in people], PERSON_FIELDS)
        rows_update([d for d in sent if d.pk in changes], WRITE_BACK_FIELDS)
        rows_update(others, RESULT_FIELDS)
        # A post decides its write-backs' turn: sent, they go; failed, they wait held.
        posts = [d for d, _, _ in entries if d.pk in ours and not d.is_write_back]
        write_backs_release_for_posts(post_ids=[d.pk for d in posts if d.status == Status.SENT])
        write_backs_hold_for_posts(post_ids=[d.pk for d in posts if d.status == Status.FAILED])
        # A claim taken back meanwhile belongs to another worker, which logs its own try.
        # A late success is still logged (a record was written), marked as not applied;
        # a late failure is not (alerts would count a failure for a delivery sent since).
        late = [a for a in attempts if a.delivery_id not in ours and a.outcome == Outcome.SENT]
        for attempt in late:
            attempt.message = (
                f"Arrived after the claim was taken back; not applied. {attempt.message}"
            )
        DeliveryAttempt.objects.bulk_create([a for a in attempts if a.delivery_id in ours] + late)
    return ours


def _report(entries: list[Entry], ours: set[int], report: PushReport) -> None:
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
        delay = delivery_retry_delay(delivery.retries)
        if delay is not None:
            return Outcome.RETRY, Status.RETRYING, now + timedelta(seconds=delay)
    return Outcome.FAILED, Status.FAILED, None


def _attempt_message(outcome: PushOutcome | PersonOutcome | WriteBackOutcome) -> str:
    if outcome.error is not None:
        if isinstance(outcome, PersonOutcome | WriteBackOutcome) and outcome.failed_step:
            return f"{outcome.failed_step.capitalize()}: {outcome.error.message}"
        return outcome.error.message
    if outcome.reconciled:
        return (
            "Salesforce's answer was lost, but the record is there (found by its booking "
            "id): written, not sent again."
        )
    if outcome.found_existing:
        return (
            "Found the record an earlier attempt created; not created again (create mode "
            "does not update it, so a changed mapping is not applied to it)."
        )
    if isinstance(outcome, PersonOutcome):
        return person_summary(outcome.steps)
    if isinstance(outcome, WriteBackOutcome):
        return write_back_summary(outcome.steps)
    return "Created." if outcome.created else "Updated."


def person_summary(steps: dict) -> str:
    """What a person delivery's steps did, in a sentence or three."""
    person, parts = steps.get("person") or {}, []
    duplicate = steps.get("duplicate") or {}
    if duplicate.get("resolved"):
        rule = duplicate.get("rule") or "A duplicate rule"
        parts.append(f"{rule} matched an existing record: {duplicate['resolved']}.")
    if person.get("created"):
        parts.append(f"Created {person.get('object')} {person.get('id')}.")
    elif person.get("fields"):
        parts.append(
            f"Updated {person.get('object')} {person.get('id')}: {', '.join(person['fields'])}."
        )
    elif person.get("id"):
        parts.append(f"{person.get('object')} {person.get('id')}: nothing to change.")
    if (steps.get("event") or {}).get("id"):
        parts.append(f"Meeting: Event {steps['event']['id']}.")
    if (steps.get("campaign") or {}).get("how"):
        parts.append(f"Campaign: {steps['campaign']['how']}")
    owner = steps.get("owner") or {}
    if owner.get("name") or owner.get("id"):
        parts.append(f"Owner: {owner.get('name') or owner.get('id')}.")
    return " ".join(parts) or "Sent."


def write_back_summary(steps: dict) -> str:
    """What a write-back's operations did, in a sentence or two."""
    parts = []
    for step in ("event", "person"):
        done = steps.get(step) or {}
        if done.get("done"):
            fields = f": {', '.join(done['fields'])}" if done.get("fields") else ""
            parts.append(f"{done.get('object')} {done.get('id')} {done['done']}{fields}.")
    return " ".join(parts) or steps.get("note") or "Nothing to write."


# -- a post decides its write-backs' turn ---------------------------------------------


def write_backs_hold_for_posts(*, post_ids: Iterable[int]) -> int:
    """The posts `post_ids` failed or were dismissed: their pending / retrying
    write-backs are held (WAITING_FOR_POST). Returns how many."""
    return Delivery.objects.filter(
        kind=Delivery.Kind.WRITE_BACK,
        post_id__in=list(post_ids),
        status__in=(Status.PENDING, Status.RETRYING),
    ).update(
        status=Status.HELD,
        next_attempt_at=None,
        last_error_code=WAITING_FOR_POST,
        last_error_message=WAITING_FOR_POST_MESSAGE,
        last_error_fields=[],
        updated_at=timezone.now(),
    )


def write_backs_release_for_posts(*, post_ids: Iterable[int]) -> int:
    """The posts `post_ids` are sent: their write-backs held WAITING_FOR_POST are due
    now. Returns how many."""
    rows = Delivery.objects.filter(
        kind=Delivery.Kind.WRITE_BACK,
        post_id__in=list(post_ids),
        status=Status.HELD,
        last_error_code=WAITING_FOR_POST,
    )
    # No push to enqueue: the push recording the post drains what is due next.
    return rows.update(
        status=Status.PENDING,
        retries=0,
        next_attempt_at=timezone.now(),
        last_error_code="",
        last_error_message="",
        last_error_fields=[],
        updated_at=timezone.now(),
    )

"""The push: claim due deliveries of one connection, build their records, send them
(integrations.salesforce.push) and write each outcome back (outcomes), with an attempt
row each.

    deliveries_push(*, connection_id: int) -> PushReport

Claims: integrations.delivery.claims. What each answer means: .outcomes. Connection-wide
decisions: a connection-kind refusal holds every due delivery of the connection
(services.deliveries_hold); REQUEST_LIMIT_EXCEEDED, or usage near the daily limit, pauses
it (services.deliveries_pause).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable
from dataclasses import dataclass, field

from django.conf import settings
from django.utils import timezone

from integrations.connection import tokens
from integrations.delivery import services
from integrations.delivery.build import lookup_first
from integrations.delivery.claims import (
    Claim,
    claim_lease_kept,
    deliveries_claim,
    deliveries_reclaim_stale,
    expired_claim_starts,
)
from integrations.delivery.outcomes import (
    REQUEST_LIMIT_EXCEEDED,
    Entry,
    PushReport,
    outcomes_record,
)
from integrations.delivery.people import PeopleBuilder
from integrations.delivery.selectors import DUE_STATUSES, deliveries_due, deliveries_ready
from integrations.delivery.write_back_build import write_back_item
from integrations.models import Delivery, SalesforceConnection
from integrations.salesforce.client import SalesforceClient
from integrations.salesforce.errors import Kind, SalesforceError
from integrations.salesforce.person_push import PersonItem, PersonOutcome, people_push
from integrations.salesforce.push import PushItem, PushOutcome, records_push
from integrations.salesforce.schema import WriteMode
from integrations.salesforce.write_back import WriteBackItem, WriteBackOutcome, write_backs_push
from leadsync.compiled import STAND_IN_ID, STAND_IN_TIME, CompiledQuery

logger = logging.getLogger(__name__)

API_USAGE_PAUSED = "API_USAGE_PAUSED"

#: (sobject, write mode, key field) -> the claim's deliveries sent together
Groups = dict[tuple[str, str, str], list[tuple[Delivery, PushItem]]]


class ConnectionRefused(Exception):
    """Salesforce refused the connection itself while sending a claim (see _hold_claim)."""

    def __init__(self, outcome: PushOutcome | PersonOutcome | WriteBackOutcome) -> None:
        super().__init__(outcome.error)
        self.outcome = outcome


def deliveries_push(
    *, connection_id: int, queue: str | None = None, resumed: bool = False
) -> PushReport:
    """Drain the due deliveries of one connection: claim (up to DELIVERY_BATCH_SIZE), send,
    record; again while more are due, at most DELIVERY_DRAIN_ROUNDS times. Safe to run
    twice and concurrently. Returns a PushReport.

    Fair across orgs: after a round, when other connections have due work, the rest of
    this one's goes to the back of the queue (a `resumed` push), so one tenant's backlog
    delays another's first record by one round at most; and a push that is not resumed
    claims only DELIVERY_FIRST_CLAIM_SIZE while others wait, so that round is short: with
    a hundred orgs' backlogs queued at once, every org's first records go out before any
    org's second batch. A backlog larger than a claim is shared
    with up to DELIVERY_PUSHES_PER_CONNECTION pushes on other workers. The pushes this one
    hands work to go on `queue` (its own), default routing when None."""
    report = PushReport()
    if not _due(connection_id):
        return report  # the common case when many bookings enqueued one push each
    connection = SalesforceConnection.objects.filter(pk=connection_id).first()
    if connection is None:
        return report
    deliveries_reclaim_stale(connection_id=connection_id)
    _peer_request(connection_id, queue)
    client = tokens.client_for(connection)
    builder = PeopleBuilder(connection=connection, client=client)
    limit, began = settings.DELIVERY_BATCH_SIZE, time.monotonic()
    if (
        not resumed
        and limit > settings.DELIVERY_FIRST_CLAIM_SIZE
        and _others_waiting(connection_id)
    ):
        limit = settings.DELIVERY_FIRST_CLAIM_SIZE
    for _ in range(settings.DELIVERY_DRAIN_ROUNDS):
        connection.refresh_from_db()
        if not connection.is_connected:
            services.deliveries_hold_not_connected(connection=connection)
            break
        if _paused(connection, client, report):
            break
        claim = deliveries_claim(connection_id=connection_id, limit=limit)
        short = len(claim.deliveries) < limit  # it took everything due then
        limit = settings.DELIVERY_BATCH_SIZE
        if not claim.deliveries:
            break
        report.claimed += len(claim.deliveries)
        with claim_lease_kept(claim):
            sending_goes_on = _send(connection, client, builder, claim, report)
        if not sending_goes_on:
            break
        if time.monotonic() - began >= settings.DELIVERY_PUSH_SECONDS:
            # A task never runs into Celery's time limit mid-claim (the claim would lapse
            # and be sent again): the rest goes on in a new push.
            services.push_request(connection_id, queue=queue, resumed=True)
            break
        if short and not _due(connection_id):
            # Nothing came due while it was sent (a step of the same bookings, a retry):
            # done, without the next round's reads and empty claim. Bookings saved since
            # the push started asked for their own push.
            break
        if _others_waiting(connection_id):
            # after the other orgs' turn
            services.push_request(connection_id, queue=queue, resumed=True)
            break
    else:
        if _due(connection_id):
            services.push_request(connection_id, queue=queue)  # rounds used up: a new push
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


# The reads every push makes, whatever its size: compiled once (leadsync.compiled).
_DUE = CompiledQuery(
    lambda *, connection_id, now: deliveries_due(connection_id=connection_id, now=now),
    connection_id=STAND_IN_ID,
    now=STAND_IN_TIME,
)
_DUE_IDS = CompiledQuery(
    lambda *, shape, connection_id, now: deliveries_due(
        connection_id=connection_id, now=now
    ).values_list("pk")[:shape],
    connection_id=STAND_IN_ID,
    now=STAND_IN_TIME,
)
_OTHERS_DUE = CompiledQuery(
    lambda *, connection_id, now: Delivery.objects.filter(
        deliveries_ready(), status__in=DUE_STATUSES, next_attempt_at__lte=now
    ).exclude(connection_id=connection_id),
    connection_id=STAND_IN_ID,
    now=STAND_IN_TIME,
)
_PUSHES_RUNNING = CompiledQuery(
    lambda *, connection_id: (
        Delivery.objects.filter(connection_id=connection_id, status=Delivery.Status.SENDING)
        .order_by()
        .values_list("claim_token")
        .distinct()
    ),
    connection_id=STAND_IN_ID,
)


def _due(connection_id: int) -> bool:
    """Whether the connection has deliveries a push should send now."""
    return _DUE.exists(connection_id=connection_id, now=timezone.now())


def _others_waiting(connection_id: int) -> bool:
    """Whether another connection has due deliveries (its push is waiting for a worker)."""
    return _OTHERS_DUE.exists(connection_id=connection_id, now=timezone.now())


def _peer_request(connection_id: int, queue: str | None) -> None:
    """A backlog larger than one claim, and fewer pushes of this connection running than
    allowed: enqueue another push, so a free worker shares the backlog."""
    batch = settings.DELIVERY_BATCH_SIZE
    if settings.DELIVERY_PUSHES_PER_CONNECTION < 2:
        return
    due = _DUE_IDS.rows(shape=batch + 1, connection_id=connection_id, now=timezone.now())
    if len(due) <= batch:
        return
    running = len(_PUSHES_RUNNING.rows(connection_id=connection_id))
    if running + 1 < settings.DELIVERY_PUSHES_PER_CONNECTION:
        services.push_enqueue(connection_id, queue=queue)


# -- one claim ------------------------------------------------------------------------------


def _send(
    connection: SalesforceConnection,
    client: SalesforceClient,
    builder: PeopleBuilder,
    claim: Claim,
    report: PushReport,
) -> bool:
    """Build, check, send and record one claim. Returns False when sending must stop
    (the connection was refused or paused)."""
    recorded: set[int] = set()
    try:
        built = _build(builder, claim, report, recorded)
        limit_reached = built.limit_reached
        for group, members in built.groups.items():
            limit_reached |= _send_group(
                client, group, members, built.payloads, claim, report, recorded
            )
        if built.people:
            limit_reached |= _send_people(
                connection, client, builder, built, claim, report, recorded
            )
        if built.write_backs:
            limit_reached |= _send_write_backs(client, built, claim, report, recorded)
    except ConnectionRefused as refused:
        _hold_claim(connection, claim, refused.outcome, recorded, report)
        return False
    if limit_reached:
        services.deliveries_pause(
            connection=connection,
            code=REQUEST_LIMIT_EXCEEDED,
            message="Salesforce refused: the org's daily API limit is reached. Paused.",
        )
        report.paused = True
    return not limit_reached


@dataclass
class ClaimBuilt:
    """A claim's records, grouped by how they are sent: plain records by (object, write
    mode, key field), people (Lead / Contact targets) in one list; fresh payloads."""

    groups: Groups = field(default_factory=dict)
    people: list[tuple[Delivery, PersonItem]] = field(default_factory=list)
    write_backs: list[tuple[Delivery, WriteBackItem]] = field(default_factory=list)
    payloads: dict[int, dict | None] = field(default_factory=dict)
    limit_reached: bool = False


def _build(
    builder: PeopleBuilder, claim: Claim, report: PushReport, recorded: set[int]
) -> ClaimBuilt:
    """Build the claim's records. A delivery refused before sending is recorded at once.
    Raises ConnectionRefused."""
    result = ClaimBuilt()
    lapsed = expired_claim_starts(claim.deliveries)
    for delivery in claim.deliveries:
        person = None
        if delivery.is_write_back and delivery.target is not None:
            # Changes to records the post wrote: built from the change and the policy.
            item = write_back_item(delivery, describe=builder.describe)
            result.write_backs.append((delivery, item))
            continue
        if delivery.target is not None and delivery.target.is_person:
            person, built = builder.item(delivery)
        else:
            built = builder.build(delivery)
        if built.error is not None:
            outcome = built.outcome()
            _record(claim, [(delivery, outcome, built.stored_payload)], report, recorded)
            result.limit_reached |= outcome.error.code == REQUEST_LIMIT_EXCEEDED
            continue
        result.payloads[delivery.pk] = built.record if built.fresh else None
        if person is not None:
            person.lookup_since = lapsed.get(delivery.pk)
            result.people.append((delivery, person))
            continue
        item = PushItem(
            ref=delivery.pk,
            record=built.record,
            key=built.key,
            lookup_first=lookup_first(delivery, built),
            lookup_since=lapsed.get(delivery.pk),
        )
        group = (built.sobject, built.write_mode.value, built.key_field)
        result.groups.setdefault(group, []).append((delivery, item))
    return result


def _send_people(
    connection: SalesforceConnection,
    client: SalesforceClient,
    builder: PeopleBuilder,
    built: ClaimBuilt,
    claim: Claim,
    report: PushReport,
    recorded: set[int],
) -> bool:
    """Send the claim's people (find, person, Event, campaign, owner) and record their
    outcomes. Returns whether Salesforce said the API limit is reached. Raises
    ConnectionRefused."""
    items = [item for _, item in built.people]
    outcomes = people_push(
        client,
        items,
        describes=builder.describes(items),
        integration_user_id=connection.sf_user_id,
        batching=settings.DELIVERY_BATCHING,
    )
    entries = [
        # A record an unclear earlier try created, found again in create mode, is not
        # updated: a freshly built payload was never sent and is not recorded as sent.
        (delivery, outcome, None if outcome.found_existing else built.payloads[delivery.pk])
        for (delivery, _), outcome in zip(built.people, outcomes, strict=True)
    ]
    _record(claim, entries, report, recorded)
    return any(o.error is not None and o.error.code == REQUEST_LIMIT_EXCEEDED for o in outcomes)


def _send_write_backs(
    client: SalesforceClient,
    built: ClaimBuilt,
    claim: Claim,
    report: PushReport,
    recorded: set[int],
) -> bool:
    """Send the claim's write-backs (Collections update and delete by Id) and record
    their outcomes. Returns whether Salesforce said the API limit is reached. Raises
    ConnectionRefused."""
    outcomes = write_backs_push(
        client, [item for _, item in built.write_backs], batching=settings.DELIVERY_BATCHING
    )
    entries = [
        (delivery, outcome, delivery.payload)
        for (delivery, _), outcome in zip(built.write_backs, outcomes, strict=True)
    ]
    _record(claim, entries, report, recorded)
    return any(o.error is not None and o.error.code == REQUEST_LIMIT_EXCEEDED for o in outcomes)


def _send_group(
    client: SalesforceClient,
    group: tuple[str, str, str],
    members: list[tuple[Delivery, PushItem]],
    payloads: dict[int, dict | None],
    claim: Claim,
    report: PushReport,
    recorded: set[int],
) -> bool:
    """Send one group's records and record their outcomes. Returns whether Salesforce
    said the API limit is reached. Raises ConnectionRefused."""
    sobject, write_mode, key_field = group
    outcomes = records_push(
        client,
        sobject=sobject,
        write_mode=WriteMode(write_mode),
        key_field=key_field,
        items=[item for _, item in members],
        batching=settings.DELIVERY_BATCHING,
    )
    entries = [
        # Found the record an unclear earlier try created: create mode does not update
        # it, so a freshly built payload was never sent and is not recorded as sent.
        (delivery, outcome, None if outcome.found_existing else payloads[delivery.pk])
        for (delivery, _), outcome in zip(members, outcomes, strict=True)
    ]
    _record(claim, entries, report, recorded)
    return any(o.error is not None and o.error.code == REQUEST_LIMIT_EXCEEDED for o in outcomes)


def _record(claim: Claim, entries: list[Entry], report: PushReport, recorded: set[int]) -> None:
    """Record `entries`; raise ConnectionRefused after recording when one of them says
    Salesforce refuses the connection."""
    outcomes_record(claim, entries, report)
    services.schema_recheck_after_failures(entries=entries)  # Salesforce may have changed
    recorded.update(delivery.pk for delivery, _, _ in entries)
    refused = [o for _, o, _ in entries if _refuses_connection(o)]
    if refused:
        raise ConnectionRefused(refused[-1])


def _refuses_connection(outcome: PushOutcome | PersonOutcome | WriteBackOutcome) -> bool:
    return outcome.error is not None and outcome.error.kind in (Kind.CONNECTION, Kind.SESSION)


def _hold_claim(
    connection: SalesforceConnection,
    claim: Claim,
    refused: PushOutcome | PersonOutcome | WriteBackOutcome,
    recorded: Iterable[int],
    report: PushReport,
) -> None:
    """Salesforce refused the connection: the rest of the claim is held with the same
    error (an attempt row each), then every other due delivery of the connection."""
    done = set(recorded)
    rest = [(d, refused, None) for d in claim.deliveries if d.pk not in done]
    outcomes_record(claim, rest, report)
    report.held += services.deliveries_hold(
        connection=connection, error=refused.error, claim_token=claim.token
    )


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
    due = deliveries_due(connection_id=connection.pk)
    if due.filter(last_error_code__in=[API_USAGE_PAUSED, REQUEST_LIMIT_EXCEEDED]).exists():
        try:
            client.limits()  # stores the current usage on the connection
        except SalesforceError as error:
            logger.warning("Usage check failed: connection=%s %s", connection.pk, error.code)
        connection.refresh_from_db()
        if not _usage_high(connection):
            return False
    share = connection.api_usage / connection.api_limit
    services.deliveries_pause(
        connection=connection,
        code=API_USAGE_PAUSED,
        message=f"Paused: {connection.api_usage} of {connection.api_limit} daily API calls used "
        f"({share:.0%}, the pause starts at "
        f"{settings.DELIVERY_API_USAGE_PAUSE_RATIO:.0%}). Sending resumes when usage falls.",
    )
    report.paused = True
    return True

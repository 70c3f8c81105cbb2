"""Write services of the delivery outbox (everything but the push itself, which is
integrations.delivery.push). Keyword-only, one transaction each; pushes are enqueued on
commit, by task name.

Public API (the dashboard, the admin and the tasks call these):

    deliveries_create_for_booking(*, booking: Booking) -> list[Delivery]
        The outbox: one Delivery per enabled SyncTarget of the booking's page, in the
        caller's (the booking's) transaction; held when the tenant is not connected.
    deliveries_resend(*, deliveries: QuerySet[Delivery] | Iterable[Delivery],
                      rebuild: bool = False) -> int
        failed / held / dismissed / retrying -> pending, due now, error cleared, retry
        schedule restarted. With rebuild=True the stored payload is dropped (rebuilt from
        the current mapping); with include_sent=True too, sent deliveries of upsert targets
        are sent again (the upsert by the booking id updates the same record). Pending,
        sending, and sent create-mode deliveries are left alone. Returns how many.
    deliveries_release_held(*, connection: SalesforceConnection) -> int
        held -> pending after a (re)connect. Returns how many.
    deliveries_hold(*, connection, error, claim_token=None) -> int
        Salesforce refuses the connection: mark it needs_reconnect and hold every
        pending / retrying delivery of it (and those of `claim_token`).
    deliveries_hold_not_connected(*, connection) -> int
    deliveries_pause(*, connection, code: str, message: str) -> int
        Near / over the daily API limit: due deliveries wait DELIVERY_API_PAUSE_SECONDS.
    deliveries_sweep() -> list[int]
        Beat's safety net: reclaim stale claims (claims.deliveries_reclaim_stale),
        release held deliveries of connected connections, enqueue a push per connection
        with due deliveries.
"""

from __future__ import annotations

import copy
import functools
import logging
import uuid
from collections.abc import Iterable
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import connection as db_connection
from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from bookings.models import Booking
from integrations.connection import services as connection_services
from integrations.delivery.claims import deliveries_reclaim_stale
from integrations.delivery.selectors import (
    BOOKING_TARGETS,
    DUE_STATUSES,
    RESENDABLE,
    WAITING_FOR_POST,
    booking_targets,
    deliveries_ready,
)
from integrations.models import Delivery, SalesforceConnection, SyncTarget
from integrations.salesforce.errors import SalesforceError, is_field_error
from leadsync import enqueue
from leadsync.inserts import insert_many, insert_select

logger = logging.getLogger(__name__)
Status = Delivery.Status

NOT_CONNECTED = "NOT_CONNECTED"
PUSH_TASK = "integrations.delivery_push"  # integrations.delivery.tasks.delivery_push
# How long "a push is queued" holds without the push starting (a lost message): then the
# next booking enqueues another. The sweeper enqueues regardless.
PUSH_QUEUED_SECONDS = 60
SCHEMA_RECHECK_TASK = "integrations.schema_recheck"  # integrations.mappings.tasks
#: At most one schema re-read per connection and object this often, however many
#: deliveries fail on it (the task checks the schema's age again, in the database).
SCHEMA_RECHECK_INTERVAL = timedelta(minutes=5)


# -- the outbox ---------------------------------------------------------------------------


@transaction.atomic(savepoint=False)  # inside the booking's transaction: no savepoint of its own
def deliveries_create_for_booking(*, booking: Booking) -> list[Delivery]:
    """One Delivery per enabled target of `booking`'s page (pending, due now), created in
    the booking's own transaction; a push of the connection is enqueued on commit.

    With no connected Salesforce org the deliveries are created `held`, with the reason
    as their last error; they go out after connecting (deliveries_release_held).
    """
    now = timezone.now()
    template = Delivery(booking=booking, status=Status.PENDING, next_attempt_at=now)
    # A connected org's deliveries are written by the statement that finds the targets.
    targets, made = _targets_with_deliveries(template)
    if not targets:
        return []
    connection_id, status = targets[0][2:]
    if made:
        push_enqueue_on_commit([connection_id])
        return [
            _made(template, pk, target_id, sobject, connection_id)
            for (target_id, sobject, *_), pk in zip(targets, made, strict=True)
        ]
    connection = None  # read only when it is not connected (or has no row yet)
    connected = status == SalesforceConnection.Status.CONNECTED  # not PostgreSQL
    if not connected:
        connection = connection_services.connection_get_or_create(tenant=booking.page.tenant)
        connection_id, connected = connection.pk, connection.is_connected
    deliveries = [
        Delivery(
            booking=booking,
            target_id=target_id,
            connection_id=connection_id,
            sobject=sobject,
            status=Status.PENDING,
            next_attempt_at=now,
        )
        for target_id, sobject, _, _ in targets
    ]
    if not connected:
        for delivery in deliveries:
            delivery.status = Status.HELD
            delivery.last_error_code = NOT_CONNECTED
            delivery.last_error_message = not_connected_message(connection)
    insert_many(deliveries)
    if connected:
        push_enqueue_on_commit([connection_id])
    return deliveries


def _targets_with_deliveries(template: Delivery) -> tuple[list[tuple], list[int]]:
    """The page's targets (selectors.BOOKING_TARGETS, by id) and, when its org is
    connected, the ids of the deliveries (copies of `template`) one statement wrote for
    them, else none."""
    page_id = template.booking.page_id
    insert = insert_select(
        template,
        select={"target_id": "t.target_id", "connection_id": "t.connection_id",
                "sobject": "t.sobject"},
        source="targets t WHERE t.status = %s ORDER BY t.target_id",
        returning="id, target_id",
    )  # fmt: skip
    if insert is None:  # not PostgreSQL: read, then insert
        return booking_targets(page_id=page_id), []
    sql, params = insert
    with db_connection.cursor() as cursor:
        cursor.execute(
            f"WITH targets AS ({BOOKING_TARGETS}), made AS ({sql})"  # noqa: S608 - constants
            " SELECT t.target_id, t.sobject, t.connection_id, t.status, made.id"
            " FROM targets t LEFT JOIN made ON made.target_id = t.target_id"
            " ORDER BY t.target_id",
            [page_id, *params, SalesforceConnection.Status.CONNECTED],
        )
        rows = cursor.fetchall()
    made = [row[4] for row in rows if row[4] is not None]
    if len(made) not in (0, len(rows)):  # one org per page: all written, or none
        raise RuntimeError(f"deliveries written for {len(made)} of {len(rows)} targets")
    return [row[:4] for row in rows], made


def _made(
    template: Delivery, pk: int, target_id: int, sobject: str, connection_id: int
) -> Delivery:
    """A copy of `template` (Django's own pickling copy: its state copied too) as the
    delivery written with id `pk`."""
    delivery = copy.copy(template)
    delivery._state.adding, delivery._state.db = False, db_connection.alias
    delivery.pk, delivery.target_id, delivery.sobject = pk, target_id, sobject
    delivery.connection_id = connection_id
    return delivery


def not_connected_message(connection: SalesforceConnection) -> str:
    if connection.status == SalesforceConnection.Status.NEEDS_RECONNECT:
        reason = f" ({connection.last_error_code})" if connection.last_error_code else ""
        return (
            f"The Salesforce connection needs reconnecting{reason}. Held; it is sent "
            "by itself after reconnecting."
        )
    return "Salesforce is not connected. Held; it is sent by itself after connecting."


# -- staff actions ------------------------------------------------------------------------


@transaction.atomic
def deliveries_resend(
    *,
    deliveries: QuerySet[Delivery] | Iterable[Delivery],
    rebuild: bool = False,
    include_sent: bool = False,
) -> int:
    """Queue `deliveries` again (see the module docstring). Returns how many were queued."""
    if isinstance(deliveries, QuerySet):
        ids = list(deliveries.values_list("pk", flat=True))
    else:
        ids = [delivery.pk for delivery in deliveries]
    wanted = Q(status__in=RESENDABLE)
    if rebuild and include_sent:
        # Only an upsert brings a sent record up to date; create mode would find the
        # record and leave it as it is (or, without a key, create a second one).
        wanted |= Q(status=Status.SENT, target__write_mode=SyncTarget.WriteMode.UPSERT)
    # Lock the rows so a push applying a result cannot interleave (skip none: staff wait).
    rows = Delivery.objects.select_for_update(of=("self",)).filter(wanted, pk__in=ids)
    chosen = list(rows.values_list("pk", "connection_id"))
    if not chosen:
        return 0
    changes = _queued_now()
    if rebuild:
        changes["payload"] = None
    Delivery.objects.filter(pk__in=[pk for pk, _ in chosen]).update(
        dismissed_at=None, dismissed_by=None, dismissed_reason="", **changes
    )
    push_enqueue_on_commit(sorted({connection_id for _, connection_id in chosen}))
    logger.info("Deliveries resent: %s (rebuild=%s)", [pk for pk, _ in chosen], rebuild)
    return len(chosen)


@transaction.atomic
def deliveries_release_held(*, connection: SalesforceConnection) -> int:
    """Held deliveries of `connection` -> pending, due now (after a reconnect). Returns
    how many; the push is enqueued on commit."""
    # Write-backs waiting for their post stay held: the post's sending releases them.
    count = (
        Delivery.objects.filter(connection=connection, status=Status.HELD)
        .exclude(last_error_code=WAITING_FOR_POST)
        .update(**_queued_now())
    )
    if count:
        push_enqueue_on_commit([connection.pk])
        logger.info("Held deliveries released: tenant=%s count=%s", connection.tenant_id, count)
    return count


# -- what the push decides ------------------------------------------------------------------


@transaction.atomic
def deliveries_hold(
    *,
    connection: SalesforceConnection,
    error: SalesforceError,
    claim_token: uuid.UUID | None = None,
) -> int:
    """Salesforce refuses `connection` itself (connection-kind error): mark it
    needs_reconnect and hold every pending / retrying delivery of it, plus those claimed
    under `claim_token`. Returns how many were held.

    A refusal of a grant older than the connection's latest connect is stale (staff
    reconnected while this push ran with the old tokens): then nothing is held, and the
    claim's deliveries are due again at once, to go out with the new grant."""
    current = SalesforceConnection.objects.select_for_update(no_key=True).get(pk=connection.pk)
    if current.connected_at != connection.connected_at:
        if claim_token is not None:
            Delivery.objects.filter(
                connection=connection, status=Status.SENDING, claim_token=claim_token
            ).update(status=Status.RETRYING, claim_token=None, next_attempt_at=timezone.now())
        push_enqueue_on_commit([connection.pk])
        logger.info("Stale refusal ignored after a reconnect: tenant=%s", connection.tenant_id)
        return 0
    if current.status == SalesforceConnection.Status.CONNECTED:
        connection_services.connection_mark_needs_reconnect(connection=current, error=error)
    detail = f"{error.code}: {error.message}" if error.message else error.code
    message = (
        f"Salesforce refused the connection ({detail}). Held; it is sent by itself "
        "after reconnecting."
    )
    due = Delivery.objects.filter(connection=connection, status__in=DUE_STATUSES)
    count = due.update(
        status=Status.HELD,
        last_error_code=error.code[:100],
        last_error_message=message,
        last_error_fields=[],
        updated_at=timezone.now(),
    )
    if claim_token is not None:
        count += Delivery.objects.filter(
            connection=connection, status=Status.SENDING, claim_token=claim_token
        ).update(
            status=Status.HELD,
            claim_token=None,
            last_error_code=error.code[:100],
            last_error_message=message,
            last_error_fields=[],
            updated_at=timezone.now(),
        )
    logger.warning(
        "Deliveries held: tenant=%s connection=%s code=%s count=%s",
        connection.tenant_id,
        connection.pk,
        error.code,
        count,
    )
    return count


def deliveries_hold_not_connected(*, connection: SalesforceConnection) -> int:
    """`connection` is not usable (needs_reconnect / disabled): hold its due deliveries,
    saying why. Returns how many."""
    return Delivery.objects.filter(connection=connection, status__in=DUE_STATUSES).update(
        status=Status.HELD,
        last_error_code=NOT_CONNECTED,
        last_error_message=not_connected_message(connection),
        last_error_fields=[],
        updated_at=timezone.now(),
    )


def deliveries_pause(*, connection: SalesforceConnection, code: str, message: str) -> int:
    """Every due (or soon due) delivery of `connection` waits DELIVERY_API_PAUSE_SECONDS,
    with `code` / `message` saying why (the daily API limit). Returns how many."""
    until = timezone.now() + timedelta(seconds=settings.DELIVERY_API_PAUSE_SECONDS)
    count = Delivery.objects.filter(
        connection=connection, status__in=DUE_STATUSES, next_attempt_at__lt=until
    ).update(
        next_attempt_at=until,
        last_error_code=code,
        last_error_message=message,
        updated_at=timezone.now(),
    )
    logger.warning(
        "Connection paused: tenant=%s connection=%s code=%s deliveries=%s",
        connection.tenant_id,
        connection.pk,
        code,
        count,
    )
    return count


def deliveries_sweep() -> list[int]:
    """Beat's safety net (every DELIVERY_SWEEP_SECONDS): take back stale claims, release
    held deliveries of connections that are connected again (e.g. after "Test
    connection"), and enqueue one push per connection with due deliveries. Returns the
    connection ids enqueued."""
    deliveries_reclaim_stale()
    for connection in SalesforceConnection.objects.filter(
        status=SalesforceConnection.Status.CONNECTED,
        pk__in=Delivery.objects.filter(status=Status.HELD).values("connection_id"),
    ):
        deliveries_release_held(connection=connection)
    due = (
        Delivery.objects.filter(
            deliveries_ready(), status__in=DUE_STATUSES, next_attempt_at__lte=timezone.now()
        )
        .values_list("connection_id", flat=True)
        .distinct()
    )
    connection_ids = sorted(set(due))
    for connection_id in connection_ids:
        push_enqueue(connection_id)
    return connection_ids


# -- enqueueing -----------------------------------------------------------------------------


def push_enqueue(connection_id: int, *, queue: str | None = None, resumed: bool = False) -> bool:
    """Enqueue a push of `connection_id` now (on `queue`: a push's own, when it hands on
    work; `resumed`: the rest of a backlog after other orgs' turn, see deliveries_push).
    A broker outage is logged, not raised: the deliveries are in the database and the
    sweeper enqueues them later."""
    args = (connection_id, True) if resumed else (connection_id,)
    return enqueue.task_send(PUSH_TASK, *args, **({"queue": queue} if queue else {}))


def push_request(connection_id: int, *, queue: str | None = None, resumed: bool = False) -> bool:
    """Enqueue a push of `connection_id` unless one is queued and not started yet (it will
    see this work too): a burst of bookings costs one push, not one each. An unreachable
    cache only means a push more. Returns whether a push is queued."""
    return enqueue.send_unless_queued(
        _queued_key(connection_id),
        timeout=PUSH_QUEUED_SECONDS,
        send=lambda: push_enqueue(connection_id, queue=queue, resumed=resumed),
    )


def push_started(connection_id: int) -> None:
    """A push of `connection_id` began: work arriving from now on needs a new one."""
    enqueue.marker_clear(_queued_key(connection_id))


def push_enqueue_on_commit(connection_ids: Iterable[int]) -> None:
    """Request a push per connection when the current transaction commits (a broker
    outage then is logged, never raised into the request)."""
    for connection_id in connection_ids:
        transaction.on_commit(functools.partial(_push_request_late, connection_id))


def _push_request_late(connection_id: int) -> None:
    push_request(connection_id)


def _queued_key(connection_id: int) -> str:
    return f"delivery:push-queued:{connection_id}"


# -- helpers ----------------------------------------------------------------------------------


def _queued_now() -> dict:
    return {
        "status": Status.PENDING,
        "retries": 0,
        "next_attempt_at": timezone.now(),
        "claim_token": None,
        "last_error_code": "",
        "last_error_message": "",
        "last_error_fields": [],
        "updated_at": timezone.now(),
    }


# -- Salesforce changed: a field-related failure re-reads the object's fields ----------------


def schema_recheck_after_failures(*, entries: Iterable[tuple[Delivery, Any, Any]]) -> list:
    """After outcomes are recorded: for each (connection, object) whose delivery failed
    with a field-related error (errors.FIELD_ERROR_CODES), enqueue a re-read of that
    object's fields and a re-check of every target using it, at most once per
    SCHEMA_RECHECK_INTERVAL. `entries` are (delivery, outcome, payload) as the push records
    them. Returns the (connection id, object) pairs enqueued."""
    pairs = {
        (delivery.connection_id, _failed_object(delivery, outcome))
        for delivery, outcome, _ in entries
        if outcome.error is not None
        and is_field_error(outcome.error.code)
        and delivery.connection_id
        and delivery.status == Status.FAILED
    }
    enqueued = []
    for connection_id, sobject in sorted(pairs):
        key = f"leadsync:schema-recheck:{connection_id}:{sobject}"
        try:
            first = cache.add(key, 1, timeout=SCHEMA_RECHECK_INTERVAL.total_seconds())
        except Exception as exc:  # the task checks the schema's age itself
            logger.warning("Schema re-check marker not set (%s)", exc)
            first = True
        if first:
            enqueue.task_send_on_commit(SCHEMA_RECHECK_TASK, connection_id, sobject)
            enqueued.append((connection_id, sobject))
    return enqueued


def _failed_object(delivery: Delivery, outcome: Any) -> str:
    """The object whose fields the failure is about: a person delivery may fail on its
    Event or campaign member rather than on the person."""
    step = getattr(outcome, "failed_step", "")
    return {"event": "Event", "campaign": "CampaignMember"}.get(step, delivery.sobject)

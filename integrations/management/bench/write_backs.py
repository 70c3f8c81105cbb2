"""Write-back mode (issue 13): `--writeback-bookings` (1,000) bookings of person pages
are posted (a Lead and an Event each) by a running worker; then every one is cancelled in
one transaction, so all their write-backs are queued at once, and the same worker sends
them under the product's default cancel policy (keep the Event, subject prefixed
"Cancelled: ") plus a status picklist on the Event.

Measured from the commit of the cancellations until every write-back is sent: seconds,
and the API calls as the emulator's own counters say (the target: at most 10 for 1,000).
What reached Salesforce is read from the org's Events: each booking's one Event marked
cancelled (lost: an Event not marked; duplicates: a booking id on more than one Event).
"""

from __future__ import annotations

import math
import time

from django.db import transaction

from bookings.models import Booking
from bookings.services import booking_cancel
from integrations.management.bench import data
from integrations.management.bench.context import Context, drain_measure
from integrations.management.bench.people import _check, _integration_user
from integrations.management.bench.report import Row
from integrations.models import Delivery, SyncTarget, WriteBackField

SENT = Delivery.Status.SENT
OPEN = [Delivery.Status.PENDING, Delivery.Status.SENDING, Delivery.Status.RETRYING]
PREFIX = "Cancelled: "
POLL = 0.1


def write_backs(ctx: Context, out) -> list[Row]:
    count = ctx.opts["writeback_bookings"]
    if not count:
        return []
    ctx.begin()
    try:
        emulator = ctx.emulator
        user_id = _integration_user(emulator)
        pages = data.tenant_setup(
            emulator, slug="writeback", pages=data.pages_needed(count), host_sf_user=user_id
        )
        for target in SyncTarget.objects.filter(page__in=pages):
            target.cancel_action = SyncTarget.CancelAction.MARK
            target.cancel_subject_prefix = PREFIX
            target.save(update_fields=["cancel_action", "cancel_subject_prefix"])
            WriteBackField.objects.create(
                target=target, change="cancelled", applies_to="event",
                sf_field="Meeting_Status__c", value="Cancelled",
            )  # fmt: skip
        slots = list(data.slots_for(pages, count))
        save = data.backlog_save if ctx.opts["backlog"] == "service" else data.backlog_copy
        uids = save(slots, label="W")
        workers = ctx.workers_start(1, consume=False)
        posts = drain_measure(ctx, workers, uids, check=lambda u: _check(emulator, u))
        calls0 = emulator.admin("GET", "state")["api_calls"]
        began, commit = time.monotonic(), []
        with transaction.atomic():  # all queued at once: due together when the push runs
            # The first on-commit callback runs right after the commit, before the others
            # (pushes asked, emails enqueued): the clock starts there, not when they end.
            transaction.on_commit(lambda: commit.append(time.monotonic()))
            for booking in Booking.objects.filter(uid__in=uids).order_by("pk"):
                booking_cancel(booking=booking, reason="Bench: plans changed")
        committed = commit[0]
        seconds = _wait(count, timeout=ctx.opts["drain_timeout"], began=committed)
        calls1 = emulator.admin("GET", "state")["api_calls"]
        used = {k: n - calls0.get(k, 0) for k, n in calls1.items() if n - calls0.get(k, 0)}
        events = emulator.admin("GET", "records/Event")
    finally:
        ctx.end()
    row = _row(
        count, seconds, used, events, uids,
        posts_seconds=posts.seconds, cancel_seconds=committed - began,
    )  # fmt: skip
    out(row)
    return [row]


def _wait(count: int, *, timeout: float, began: float) -> float | None:
    """Seconds from `began` until `count` write-backs are sent or none is left to send;
    None when neither within `timeout`."""
    while True:
        rows = Delivery.objects.filter(kind=Delivery.Kind.WRITE_BACK)
        if rows.filter(status=SENT).count() >= count or not rows.filter(status__in=OPEN).exists():
            return time.monotonic() - began
        if time.monotonic() - began > timeout:
            return None
        time.sleep(POLL)


def _row(
    count: int,
    seconds: float | None,
    used: dict[str, int],
    events: list[dict],
    uids: list[str],
    *,
    posts_seconds: float | None,
    cancel_seconds: float,
) -> Row:
    key = data.KEY_FIELD
    by_booking: dict[str, list[dict]] = {}
    for event in events:
        by_booking.setdefault(str(event.get(key) or "").casefold(), []).append(event)
    wanted = [uid.casefold() for uid in uids]
    marked = [
        u
        for u in wanted
        if len(by_booking.get(u, [])) == 1
        and str(by_booking[u][0].get("Subject") or "").startswith(PREFIX)
        and by_booking[u][0].get("Meeting_Status__c") == "Cancelled"
    ]
    duplicates = [u for u in wanted if len(by_booking.get(u, [])) > 1]
    statuses: dict[str, int] = {}
    for status in Delivery.objects.filter(kind=Delivery.Kind.WRITE_BACK).values_list(
        "status", flat=True
    ):
        statuses[status] = statuses.get(status, 0) + 1
    calls = sum(used.values())
    note = (
        f"{len(marked)} Events marked cancelled; write-backs {statuses}; calls: {used}; "
        f"posts drained first in {posts_seconds or math.nan:.1f} s; the cancellations took "
        f"{cancel_seconds:.1f} s to save (not in s)"
    )
    if not seconds:
        note += " NOT DRAINED"
    return Row(
        mode="writeback", what=f"{count} cancels", count=count,
        seconds=seconds or math.nan, rate=count / seconds if seconds else math.nan,
        versus=f"{calls} calls (target <= {math.ceil(count / 100)})",
        calls_per_booking=calls / max(1, count), duplicates=len(duplicates),
        lost=count - len(marked) - len(duplicates), note=note,
        extra={"api_calls_by_kind": used, "statuses": statuses, "api_calls": calls},
    )  # fmt: skip

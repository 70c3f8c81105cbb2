"""What a write-back writes: its change (rescheduled, cancelled, no-show, completed) under
its target's write-back policy, as operations on the records its post wrote.

    write_back_item(delivery, *, describe) -> WriteBackItem
        `describe(sobject)` gives a cached describe (or a SalesforceError); it is asked
        only when the policy sets field values. The operations are stored as the
        delivery's payload the first time: a retry or resend sends exactly them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from bookings.models import BookingChange
from integrations.mappings.records import event_subject
from integrations.models import Delivery, SyncTarget, WriteBackField
from integrations.salesforce.errors import SalesforceError
from integrations.salesforce.payload import datetime_format
from integrations.salesforce.schema import fields_by_name
from integrations.salesforce.write_back import DELETE, UPDATE, WriteBackItem, WriteOp, value_wire

ChangeKind = BookingChange.Kind
EVENT = "Event"

Describe = Callable[[str], Any]


def write_back_item(delivery: Delivery, *, describe: Describe) -> WriteBackItem:
    """The operations of `delivery` (a write-back), from its payload when it has one."""
    stored = (delivery.payload or {}).get("ops")
    if stored is not None:
        ops = [WriteOp(**op) for op in stored]
        return WriteBackItem(ref=delivery.pk, ops=ops, steps=dict(delivery.steps or {}))
    ops, note = write_back_ops(delivery, describe=describe)
    delivery.payload = {"ops": [op_dict(op) for op in ops]}
    return WriteBackItem(ref=delivery.pk, ops=ops, steps=dict(delivery.steps or {}), note=note)


def op_dict(op: WriteOp) -> dict[str, Any]:
    return {
        "step": op.step,
        "sobject": op.sobject,
        "record_id": op.record_id,
        "action": op.action,
        "fields": op.fields,
    }


def write_back_ops(delivery: Delivery, *, describe: Describe) -> tuple[list[WriteOp], str]:
    """(operations, why there are none) for `delivery`'s change under its target's
    policy. The Event is the one the post wrote (none when events are off); the person
    is the record the post found or created."""
    target: SyncTarget = delivery.target
    change: BookingChange = delivery.change
    post: Delivery = delivery.post
    event_id = post.event_id if target.event_enabled else ""
    person_id = post.sf_record_id
    person_object = post.person_object or post.sobject
    rows = [r for r in target.write_back_fields.all() if r.change == change.kind]
    event_fields = _values(rows, WriteBackField.AppliesTo.EVENT, EVENT, describe)
    person_fields = _values(rows, WriteBackField.AppliesTo.PERSON, person_object, describe)
    event_op: WriteOp | None = None
    if change.kind == ChangeKind.RESCHEDULED:
        if target.reschedule_action == SyncTarget.RescheduleAction.MOVE and event_id:
            event_op = WriteOp(
                "event",
                EVENT,
                event_id,
                UPDATE,
                {
                    "StartDateTime": datetime_format(change.starts_at),
                    "EndDateTime": datetime_format(change.ends_at),
                },
            )
    elif change.kind == ChangeKind.CANCELLED:
        if event_id and target.cancel_action == SyncTarget.CancelAction.DELETE:
            event_op = WriteOp("event", EVENT, event_id, DELETE)
        elif event_id and target.cancel_action == SyncTarget.CancelAction.MARK:
            subject = event_subject(target, delivery.booking)
            marked = (target.cancel_subject_prefix + subject)[:255]
            event_fields = {"Subject": marked, **event_fields}
        if target.cancel_reason_field and change.reason:
            person_fields[target.cancel_reason_field] = change.reason[:32000]
    if event_op is None and event_id and event_fields:
        event_op = WriteOp("event", EVENT, event_id, UPDATE, event_fields)
    ops = [op for op in [event_op] if op is not None]
    if person_fields and person_id:
        ops.append(WriteOp("person", person_object, person_id, UPDATE, person_fields))
    note = "" if ops else _nothing_note(target, change, event_id)
    return ops, note


def _values(
    rows: list[WriteBackField], applies_to: str, sobject: str, describe: Describe
) -> dict[str, Any]:
    """{field: wire value} of the rows on `applies_to`, typed by `sobject`'s describe
    (text as it is when the describe cannot be had: Salesforce then says what is wrong)."""
    chosen = [r for r in rows if r.applies_to == applies_to]
    if not chosen:
        return {}
    found = describe(sobject)
    facts = {} if isinstance(found, SalesforceError) or not found else fields_by_name(found)
    return {r.sf_field: value_wire(facts.get(r.sf_field), r.value) for r in chosen}


def _nothing_note(target: SyncTarget, change: BookingChange, event_id: str) -> str:
    if change.kind == ChangeKind.RESCHEDULED and target.reschedule_action != "move":
        return "Nothing to write: this target leaves the Event at the old time."
    if not event_id and target.event_enabled:
        return "Nothing to write: the post wrote no Event, and no person fields are set."
    return f"Nothing to write: no fields are set for “{change.get_kind_display()}”."

"""The write-back push: apply booking changes to records a post already wrote — update
by Id (move or mark the Event, set fields on the person) and delete by Id (the Event) —
in as few calls as possible, and say what happened to each item.

Knows Salesforce, not our tables: integrations.delivery builds the items from the
target's write-back policy and writes each `WriteBackOutcome` back.

- Every update of the batch (Events and people alike) goes in sObject Collections
  `PATCH /composite/sobjects` calls of up to 200 records (allOrNone false); every delete
  in `DELETE /composite/sobjects?ids=` calls of up to 200. A record id appears at most
  once per call (Salesforce refuses a list with a duplicate id).
- A record already deleted in Salesforce (ENTITY_IS_DELETED, NOT_FOUND) is done for a
  delete, and a failure for an update (there is nothing left to move or mark).
- An item's operations that succeeded are kept in its `steps`: a retry sends only the
  rest. Update by Id and delete are idempotent, so a call whose outcome was lost is
  simply sent again.

API calls: ceil(updates / 200) + ceil(deletes / 200) (more only when one record is
changed twice in a batch).

    write_backs_push(client, items, *, batching=True) -> list[WriteBackOutcome]
    value_problem(facts, text) -> str       "" when `text` suits the field
    value_wire(facts, text) -> Any          the value as the field takes it
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from integrations.salesforce.client import COLLECTION_MAX, RecordResult, SalesforceClient
from integrations.salesforce.errors import Kind, SalesforceError
from integrations.salesforce.schema import FieldFacts

ALREADY_DELETED = frozenset({"ENTITY_IS_DELETED", "NOT_FOUND"})
UPDATE, DELETE = "update", "delete"


@dataclass(frozen=True)
class WriteOp:
    """One write of an item: update `fields` of `record_id`, or delete it."""

    step: str  # "event" | "person": the name the outcome's steps keep it under
    sobject: str
    record_id: str
    action: str = UPDATE
    fields: dict[str, Any] = field(default_factory=dict)


@dataclass
class WriteBackItem:
    """One change to apply. `steps` holds what earlier tries did (operations done are
    not sent again); `note` says why there is nothing to write, when `ops` is empty."""

    ref: int
    ops: list[WriteOp]
    steps: dict[str, Any] = field(default_factory=dict)
    note: str = ""


@dataclass
class WriteBackOutcome:
    """What happened to one item: `error` None when every operation is done."""

    ref: int
    api_call_id: uuid.UUID
    started_at: float
    steps: dict[str, Any]
    duration_ms: int = 0
    error: SalesforceError | None = None
    failed_step: str = ""
    http_status: int | None = None
    calls: list[str] = field(default_factory=list)
    record_id: str = ""
    # Shared with the other outcomes the delivery concern records.
    created: bool | None = None
    found_existing: bool = False
    reconciled: bool = False

    @property
    def operation(self) -> str:
        return "write-back: " + (", ".join(self.calls) or "nothing to write")

    @property
    def ok(self) -> bool:
        return self.error is None


def write_backs_push(
    client: SalesforceClient, items: Sequence[WriteBackItem], *, batching: bool = True
) -> list[WriteBackOutcome]:
    """Send every operation of `items` not done yet (see the module docstring); return
    one outcome per item, in order."""
    api_call_id, started, began = uuid.uuid4(), time.time(), time.monotonic()
    outcomes = {
        item.ref: WriteBackOutcome(
            ref=item.ref,
            api_call_id=api_call_id,
            started_at=started,
            steps=dict(item.steps),
            record_id=item.ops[0].record_id if item.ops else "",
        )
        for item in items
    }
    pending = [
        (item, op)
        for item in items
        for op in item.ops
        if not (item.steps.get(op.step) or {}).get("done")
    ]
    size = COLLECTION_MAX if batching else 1
    for action in (UPDATE, DELETE):
        ops = [(item, op) for item, op in pending if op.action == action]
        for chunk in _chunks(ops, size):
            _call(client, action, chunk, outcomes)
    for item in items:
        outcome = outcomes[item.ref]
        outcome.duration_ms = max(0, round((time.monotonic() - began) * 1000))
        if not item.ops:
            outcome.steps["note"] = item.note
    return [outcomes[item.ref] for item in items]


def _chunks(
    ops: list[tuple[WriteBackItem, WriteOp]], size: int
) -> list[list[tuple[WriteBackItem, WriteOp]]]:
    """Calls of at most `size` operations, no record id twice in one call."""
    calls: list[tuple[set[str], list]] = []
    for entry in ops:
        record_id = entry[1].record_id
        for ids, chunk in calls:
            if len(chunk) < size and record_id not in ids:
                ids.add(record_id)
                chunk.append(entry)
                break
        else:
            calls.append(({record_id}, [entry]))
    return [chunk for _, chunk in calls]


def _call(
    client: SalesforceClient,
    action: str,
    chunk: list[tuple[WriteBackItem, WriteOp]],
    outcomes: dict[int, WriteBackOutcome],
) -> None:
    what = f"collection {action} ({len(chunk)})" if len(chunk) > 1 else action
    for item, _ in chunk:
        outcomes[item.ref].calls.append(what)
    try:
        if action == UPDATE:
            records = [
                {"attributes": {"type": op.sobject}, "Id": op.record_id, **op.fields}
                for _, op in chunk
            ]
            results = client.collection_update(records)
        else:
            results = client.collection_delete([op.record_id for _, op in chunk])
    except SalesforceError as error:
        for item, op in chunk:
            _fail(outcomes[item.ref], op, error)
        return
    if len(results) != len(chunk):
        error = SalesforceError(
            Kind.TRANSIENT,
            "BAD_RESPONSE",
            f"Salesforce answered {len(results)} results for {len(chunk)} records.",
            http_status=200,
        )
        for item, op in chunk:
            _fail(outcomes[item.ref], op, error)
        return
    for (item, op), result in zip(chunk, results, strict=True):
        _apply(outcomes[item.ref], op, result)


def _apply(outcome: WriteBackOutcome, op: WriteOp, result: RecordResult) -> None:
    error = result.error
    if result.success or (op.action == DELETE and error and error.code in ALREADY_DELETED):
        done = "deleted" if op.action == DELETE else "updated"
        if not result.success:
            done = "already deleted in Salesforce"
        outcome.steps[op.step] = {
            "done": done,
            "object": op.sobject,
            "id": op.record_id,
            "fields": sorted(op.fields),
        }
        return
    if error is None:
        error = SalesforceError(Kind.TRANSIENT, "UNKNOWN_ERROR", "Salesforce gave no reason.")
    if op.action == UPDATE and error.code in ALREADY_DELETED:
        error = SalesforceError(
            Kind.PERMANENT,
            error.code,
            f"The {op.sobject} {op.record_id} was deleted in Salesforce: there is nothing "
            "left to change. Restore it from the Recycle Bin and resend, or dismiss this.",
            fields=error.fields,
        )
    _fail(outcome, op, error)


def _fail(outcome: WriteBackOutcome, op: WriteOp, error: SalesforceError) -> None:
    outcome.steps[op.step] = {"error": error.code, "message": error.message, "id": op.record_id}
    if outcome.error is None:
        outcome.error, outcome.failed_step = error, op.step
        outcome.http_status = error.http_status


# -- the values a write-back sets ------------------------------------------------------------

TRUE_WORDS = frozenset({"true", "yes", "1", "on"})
FALSE_WORDS = frozenset({"false", "no", "0", "off", ""})
NUMBER_TYPES = frozenset({"double", "currency", "percent", "int"})


def value_problem(facts: FieldFacts, text: str) -> str:
    """Why `text` cannot be written to the field `facts` describes ('' when it can):
    updateable, picklist values, types and length, as the mapping checks do."""
    if not facts.updateable or facts.calculated or facts.auto_number or facts.hidden:
        return f"{facts.display} is not a field the connected user may update."
    kind = facts.type
    if kind == "boolean":
        if text.strip().lower() not in TRUE_WORDS | FALSE_WORDS:
            return f"{facts.display} is a checkbox: enter true or false."
        return ""
    if not text.strip():
        return "" if facts.nillable else f"{facts.display} may not be blank in Salesforce."
    if kind in ("picklist", "multipicklist"):
        values = text.split(";") if kind == "multipicklist" else [text]
        unknown = [v for v in values if facts.picklist_value_for(v.strip()) is None]
        if unknown:
            listed = ", ".join(v.value for v in facts.picklist_values[:20])
            return f"{', '.join(unknown)} is not a value of {facts.display}. Values: {listed}."
        return ""
    if kind in NUMBER_TYPES:
        try:
            number = float(text)
        except ValueError:
            return f"{facts.display} is a number: {text} is not one."
        if kind == "int" and not number.is_integer():
            return f"{facts.display} is a whole number: {text} is not one."
        return ""
    if kind in ("reference", "id", "date", "datetime", "time", "base64", "location", "address"):
        return f"{facts.display} ({kind}) cannot be set to a fixed value by a write-back."
    if facts.length and len(text) > facts.length:
        return f"{facts.display} holds at most {facts.length} characters."
    return ""


def value_wire(facts: FieldFacts | None, text: str) -> Any:
    """`text` as the field takes it: a checkbox a bool, a number a number, a picklist its
    API value, blank None; text as it is (also when the field is not described)."""
    if facts is None:
        return text
    if facts.type == "boolean":
        return text.strip().lower() in TRUE_WORDS
    if not text.strip():
        return None
    if facts.type in NUMBER_TYPES:
        number = float(text)
        return int(number) if facts.type == "int" else number
    if facts.type == "picklist":
        return facts.picklist_value_for(text.strip()) or text
    if facts.type == "multipicklist":
        return ";".join(facts.picklist_value_for(v.strip()) or v for v in text.split(";"))
    return text

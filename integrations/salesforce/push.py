"""The push service: send built records of one sObject to Salesforce in as few calls as
possible, and say what happened to each.

Knows Salesforce, not our tables: the caller (integrations.delivery.push) claims deliveries,
builds their records and writes each `PushOutcome` back.

- upsert mode: one record -> `PATCH /sobjects/{Obj}/{Key}/{value}`; several -> sObject
  Collections upsert (`PATCH /composite/sobjects/{Obj}/{Key}`, <= 200 per call,
  allOrNone false), each per-record result kept with its record.
- create mode: one record -> `POST /sobjects/{Obj}`; several -> Collections create.
- A record marked `lookup_first` (an earlier try may have written it and its outcome was
  never recorded) is first looked up by its key field (one `... WHERE Key IN (...)` per
  200) and only written when absent.
- A call that fails as a whole gives every record of that call the same error.
- A write whose outcome is unknown (the call timed out or the connection dropped after it
  left) is reconciled before anything is retried: one query by the key field finds the
  records that call did write; those are sent, only the rest keep the error (and retry).

API calls: ceil(n / 200) for n records, plus one query per 200 `lookup_first` records and
per 200 records of calls with an unknown outcome.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from integrations.salesforce.client import COLLECTION_MAX, RecordResult, SalesforceClient
from integrations.salesforce.errors import Kind, SalesforceError
from integrations.salesforce.schema import WriteMode


@dataclass(frozen=True)
class PushItem:
    """One record to send. `ref` is the caller's handle (a delivery id); `key` the value of
    the key field (the booking uid), '' when the target has no key field."""

    ref: int
    record: dict[str, Any]
    key: str = ""
    lookup_first: bool = False
    # Upsert mode: a record found counts as written only when Salesforce touched it since
    # this moment (epoch seconds) — the try whose outcome was lost; None: any record found.
    lookup_since: float | None = None


@dataclass
class PushOutcome:
    """What happened to one item: `record_id` on success, else `error`. `operation`,
    `api_call_id` (shared by the records of one call), `http_status` and `duration_ms`
    describe the call that decided it."""

    ref: int
    operation: str
    api_call_id: uuid.UUID
    started_at: float
    duration_ms: int = 0
    record_id: str | None = None
    created: bool | None = None
    error: SalesforceError | None = None
    http_status: int | None = None
    found_existing: bool = False
    reconciled: bool = False  # the call's answer was lost; a query found the record written
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.error is None


def records_push(
    client: SalesforceClient,
    *,
    sobject: str,
    write_mode: WriteMode,
    key_field: str,
    items: Sequence[PushItem],
    batching: bool = True,
    headers: dict[str, str] | None = None,
) -> list[PushOutcome]:
    """Send `items` (records of `sobject`); returns one outcome per item, in item order.
    `headers` go with every write (e.g. Sforce-Auto-Assign).

    Never raises SalesforceError: a failed call becomes the error of each of its records
    (the caller decides what a connection-kind error means for the rest).
    """
    outcomes: dict[int, PushOutcome] = {}
    if key_field:
        looked = [item for item in items if item.lookup_first]
        outcomes.update(_lookups(client, sobject, key_field, looked, write_mode))
    pending = [item for item in items if item.ref not in outcomes]
    upsert = write_mode is WriteMode.UPSERT and bool(key_field)
    size = COLLECTION_MAX if batching else 1
    for chunk in _chunks(pending, size):
        for outcome in _send(client, sobject, key_field if upsert else "", chunk, headers):
            outcomes[outcome.ref] = outcome
    if key_field:
        _reconcile(client, sobject, key_field, pending, outcomes)
    return [outcomes[item.ref] for item in items]


def _chunks(items: list[PushItem], size: int) -> Iterator[list[PushItem]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _single(
    client: SalesforceClient,
    sobject: str,
    key_field: str,
    item: PushItem,
    headers: dict[str, str] | None = None,
) -> PushOutcome:
    operation = "upsert" if key_field else "create"
    outcome = PushOutcome(item.ref, operation, uuid.uuid4(), started_at=time.time())
    began = time.monotonic()
    try:
        if key_field:
            # The key travels in the URL; Salesforce refuses it in the body of this call.
            body = {k: v for k, v in item.record.items() if k != key_field}
            result = client.upsert(sobject, key_field, item.key, body, headers=headers)
        else:
            result = client.create(sobject, item.record, headers=headers)
    except SalesforceError as error:
        outcome.error, outcome.http_status = error, error.http_status
    else:
        _apply_result(outcome, result, http_status=201 if result.created else 200)
    outcome.duration_ms = _ms_since(began)
    return outcome


def _send(
    client: SalesforceClient,
    sobject: str,
    key_field: str,
    chunk: list[PushItem],
    headers: dict[str, str] | None = None,
) -> list[PushOutcome]:
    if len(chunk) == 1:
        return [_single(client, sobject, key_field, chunk[0], headers)]
    return _collection(client, sobject, key_field, chunk, headers)


def _collection(
    client: SalesforceClient,
    sobject: str,
    key_field: str,
    chunk: list[PushItem],
    headers: dict[str, str] | None = None,
) -> list[PushOutcome]:
    operation = "collection upsert" if key_field else "collection create"
    call_id, started, began = uuid.uuid4(), time.time(), time.monotonic()
    records = [{"attributes": {"type": sobject}, **item.record} for item in chunk]
    outcomes = [PushOutcome(item.ref, operation, call_id, started_at=started) for item in chunk]
    try:
        if key_field:
            results = client.collection_upsert(sobject, key_field, records, headers=headers)
        else:
            results = client.collection_create(records, headers=headers)
        if len(results) != len(chunk):
            raise SalesforceError(
                "transient",
                "BAD_RESPONSE",
                f"Salesforce answered {len(results)} results for {len(chunk)} records.",
                http_status=200,
            )
    except SalesforceError as error:
        if error.kind is Kind.PERMANENT and len(chunk) > 1:
            # One bad record can make Salesforce refuse a whole collection (e.g. a
            # JSON_PARSER_ERROR): send the halves, so only the culprit fails and the other
            # bookings (of any page) still go out; a few extra calls, and only then.
            half = len(chunk) // 2
            return [
                *_send(client, sobject, key_field, chunk[:half], headers),
                *_send(client, sobject, key_field, chunk[half:], headers),
            ]
        for outcome in outcomes:
            outcome.error, outcome.http_status = error, error.http_status
    else:
        for outcome, result in zip(outcomes, results, strict=True):
            _apply_result(outcome, result, http_status=200)
    duration = _ms_since(began)
    for outcome in outcomes:
        outcome.duration_ms = duration
    return outcomes


def _lookups(
    client: SalesforceClient,
    sobject: str,
    key_field: str,
    items: list[PushItem],
    write_mode: WriteMode,
) -> dict[int, PushOutcome]:
    """Look up, by key, the records earlier tries with an unknown outcome may have written
    (one query per 200): a record found is not written again — in create mode it is left
    as it is (`found_existing`), in upsert mode it holds this very payload (a retry sends
    the stored one), so it counts as sent (`reconciled`). A failed lookup is each item's
    error (retry later: writing blind could repeat a write). Items not found are absent."""
    outcomes: dict[int, PushOutcome] = {}
    for chunk in _chunks(items, COLLECTION_MAX):
        call_id, started, began = uuid.uuid4(), time.time(), time.monotonic()
        keys = ", ".join(f"'{soql_quote(item.key)}'" for item in chunk)
        soql = (
            f"SELECT Id, {key_field}, SystemModstamp FROM {sobject} "  # noqa: S608 - quoted
            f"WHERE {key_field} IN ({keys})"
        )
        try:
            rows = client.query(soql).get("records") or []
        except SalesforceError as error:
            for item in chunk:
                outcome = PushOutcome(item.ref, "lookup", call_id, started_at=started)
                outcome.error, outcome.http_status = error, error.http_status
                outcome.duration_ms = _ms_since(began)
                outcomes[item.ref] = outcome
            continue
        found = {str(row.get(key_field)): row for row in rows}
        for item in chunk:
            row = found.get(item.key)
            if row is None:
                continue
            since = item.lookup_since
            if write_mode is WriteMode.UPSERT and since is not None:
                touched = _sf_time(row.get("SystemModstamp"))
                if touched < datetime.fromtimestamp(since, tz=UTC) - RECONCILE_SKEW:
                    continue  # an older write: this try's record still has to go out
            outcome = PushOutcome(item.ref, "lookup", call_id, started_at=started)
            outcome.record_id, outcome.created, outcome.http_status = row.get("Id"), False, 200
            if write_mode is WriteMode.INSERT:
                outcome.found_existing = True
            else:
                outcome.reconciled = True
            outcome.duration_ms = _ms_since(began)
            outcomes[item.ref] = outcome
    return outcomes


#: Transport failures after which the write may or may not have been applied.
UNKNOWN_OUTCOME = frozenset({"TIMEOUT", "CONNECTION_ERROR"})
#: Clock difference tolerated between us and Salesforce when telling whether a record found
#: after a lost answer was written by that call (rather than by an earlier, older one).
RECONCILE_SKEW = timedelta(minutes=2)


def _reconcile(
    client: SalesforceClient,
    sobject: str,
    key_field: str,
    items: list[PushItem],
    outcomes: dict[int, PushOutcome],
) -> None:
    """Records whose call lost its answer: one query per 200 keys tells which exist; those
    touched since the call began (SystemModstamp) become sent, the rest keep their error.
    A failed query leaves every error as it is (the retry is then safe by key)."""
    unclear = [
        item
        for item in items
        if item.key
        and (error := outcomes[item.ref].error) is not None
        and error.code in UNKNOWN_OUTCOME
    ]
    for chunk in _chunks(unclear, COLLECTION_MAX):
        keys = ", ".join(f"'{soql_quote(item.key)}'" for item in chunk)
        soql = (
            f"SELECT Id, {key_field}, SystemModstamp FROM {sobject} "  # noqa: S608 - quoted
            f"WHERE {key_field} IN ({keys})"
        )
        try:
            rows = client.query(soql).get("records") or []
        except SalesforceError:
            continue
        found = {row.get(key_field): row for row in rows}
        for item in chunk:
            row, outcome = found.get(item.key), outcomes[item.ref]
            started = datetime.fromtimestamp(outcome.started_at, tz=UTC)
            if row is None or _sf_time(row.get("SystemModstamp")) < started - RECONCILE_SKEW:
                continue
            outcome.error, outcome.record_id = None, row.get("Id")
            outcome.http_status, outcome.reconciled = 200, True


def _sf_time(value: Any) -> datetime:
    """A Salesforce dateTime ('2026-11-30T07:50:00.000+0000'); the epoch when unreadable."""
    try:
        return datetime.strptime(str(value), "%Y-%m-%dT%H:%M:%S.%f%z")
    except ValueError:
        return datetime.fromtimestamp(0, tz=UTC)


def _apply_result(outcome: PushOutcome, result: RecordResult, *, http_status: int) -> None:
    outcome.http_status = http_status
    if result.success:
        outcome.record_id, outcome.created = result.id, result.created
    else:
        outcome.error = result.error


def soql_quote(value: str) -> str:
    """`value` as the inside of a SOQL string literal."""
    return value.replace("\\", "\\\\").replace("'", "\\'")


def _ms_since(began: float) -> int:
    return max(0, round((time.monotonic() - began) * 1000))

"""The batch of a person push: its items, their outcomes, and the helpers every step
uses (one Collections call for many items, a query by key, chunks of 200)."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from .client import COLLECTION_MAX, RecordResult, SalesforceClient
from .errors import Kind, SalesforceError
from .people import Candidate, DuplicatePolicy, MatchPolicy, WritePolicy
from .push import soql_quote
from .schema import Describe, WriteMode


@dataclass
class PersonItem:
    """One booking to post as a person. `record` holds the person's fields (wire values,
    the key field included when the object has one); `policies` each field's write
    policy; `event` the Event's fields (None: no Event); `steps` what earlier attempts
    did (updated in place)."""

    ref: int
    email: str
    key: str
    create_object: str
    record: dict[str, Any]
    policies: dict[str, WritePolicy]
    match_policy: MatchPolicy
    duplicate_policy: DuplicatePolicy
    key_field: str = ""
    write_mode: WriteMode = WriteMode.UPSERT  # always-create: upsert by key, or create
    lookup_first: bool = False  # always-create: an earlier try's outcome is unknown
    lookup_since: float | None = None  # ... and it began then (see push.PushItem)
    auto_assign: bool = False
    owner_on_create: str = ""
    read_owner: bool = True
    event: dict[str, Any] | None = None
    event_key_field: str = ""
    # An earlier try may have created the Event without its outcome being recorded (its
    # claim lapsed): look it up by key before creating one.
    event_lookup_first: bool = False
    campaign: tuple[str, str] | None = None  # (campaign id, member status)
    account_name: str = ""  # new Contacts: the Account named by an answer
    steps: dict[str, Any] = field(default_factory=dict)


@dataclass
class PersonOutcome:
    """What happened to one item. `error` is None when every step is done; otherwise the
    step that failed is `failed_step` and the steps before it stay done. `calls` names
    what was done, in order (the attempt's operation)."""

    ref: int
    api_call_id: uuid.UUID
    started_at: float
    steps: dict[str, Any]
    duration_ms: int = 0
    error: SalesforceError | None = None
    failed_step: str = ""
    http_status: int | None = None
    calls: list[str] = field(default_factory=list)
    found_existing: bool = False  # always-create: the record an unclear try made
    reconciled: bool = False  # its answer was lost; a query found the record written

    @property
    def operation(self) -> str:
        return " → ".join(self.calls) or "nothing to send"

    @property
    def person(self) -> dict[str, Any]:
        return self.steps.get("person") or {}

    @property
    def record_id(self) -> str:
        return str(self.person.get("id") or "")

    @property
    def person_object(self) -> str:
        return str(self.person.get("object") or "")

    @property
    def event_id(self) -> str:
        return str((self.steps.get("event") or {}).get("id") or "")

    @property
    def created(self) -> bool:
        return bool(self.person.get("created"))

    @property
    def ok(self) -> bool:
        return self.error is None


@dataclass
class Batch:
    """The items of one push and what every step needs: the describes of Lead, Contact
    and Event (None when not cached), and the connected (integration) user's id."""

    client: SalesforceClient
    items: list[PersonItem]
    describes: dict[str, Describe | None]
    integration_user_id: str = ""
    batching: bool = True
    outcomes: dict[int, PersonOutcome] = field(default_factory=dict)
    found: dict[int, Candidate] = field(default_factory=dict)  # this push's find results

    def live(self) -> list[PersonItem]:
        """Items no step has failed for yet."""
        return [i for i in self.items if self.outcomes[i.ref].error is None]

    @property
    def size(self) -> int:
        """Records per call: a Collections call's 200, or 1 with batching off."""
        return COLLECTION_MAX if self.batching else 1

    def did(self, items: Sequence[Any], what: str) -> None:
        """Note `what` was done (a call) for each of `items` (items or (item, ...) tuples)."""
        for entry in items:
            item = entry[0] if isinstance(entry, tuple) else entry
            self.outcomes[item.ref].calls.append(what)

    def fail(self, item: PersonItem, step: str, error: SalesforceError) -> None:
        outcome = self.outcomes[item.ref]
        if outcome.error is None:
            outcome.error, outcome.failed_step = error, step
            outcome.http_status = error.http_status
            item.steps[step] = {"error": error.code, "message": error.message}


def collection_call(
    batch: Batch,
    items: Sequence[Any],
    call: Callable[[], list[RecordResult]],
    step: str,
) -> list[RecordResult] | None:
    """Run one Collections call for `items` ((item, ...) tuples or items); a call that
    fails as a whole fails each of its items at `step` and returns None."""
    try:
        results = call()
    except SalesforceError as error:
        for entry in items:
            batch.fail(entry[0] if isinstance(entry, tuple) else entry, step, error)
        return None
    if len(results) != len(items):
        error = SalesforceError(
            Kind.TRANSIENT,
            "BAD_RESPONSE",
            f"Salesforce answered {len(results)} results for {len(items)} records.",
            http_status=200,
        )
        for entry in items:
            batch.fail(entry[0] if isinstance(entry, tuple) else entry, step, error)
        return None
    return results


def records_by_key(
    batch: Batch, sobject: str, key_field: str, items: list[PersonItem]
) -> dict[str, str]:
    """{key: record id} of `sobject` records whose `key_field` is one of the items' keys
    (one query per 200; {} when the query fails: the items then retry)."""
    found: dict[str, str] = {}
    for chunk in chunks(items, COLLECTION_MAX):
        keys = ", ".join(f"'{soql_quote(i.key)}'" for i in chunk)
        soql = f"SELECT Id, {key_field} FROM {sobject} WHERE {key_field} IN ({keys})"  # noqa: S608
        try:
            rows = batch.client.query(soql).get("records") or []
        except SalesforceError:
            continue
        found.update({str(r.get(key_field)): str(r.get("Id")) for r in rows})
    return found


def repr_soql(value: str) -> str:
    return f"'{soql_quote(str(value))}'"


def unknown_error() -> SalesforceError:
    return SalesforceError(Kind.TRANSIENT, "UNKNOWN_ERROR", "Salesforce gave no reason.")


def chunks(items: Sequence[Any], size: int) -> Iterator[list[Any]]:
    for start in range(0, len(items), size):
        yield list(items[start : start + size])

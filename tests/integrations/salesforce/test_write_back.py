"""The write-back seam without Salesforce: a fake client at the seam records each call, so
the batching (200 per call, no id twice in one call), what counts as done, and the value
checks are asserted exactly."""

import pytest

from integrations.salesforce.client import RecordResult
from integrations.salesforce.errors import Kind, SalesforceError
from integrations.salesforce.schema import field_facts
from integrations.salesforce.write_back import (
    DELETE,
    UPDATE,
    WriteBackItem,
    WriteOp,
    value_problem,
    value_wire,
    write_backs_push,
)


class FakeClient:
    """Answers every record with success, except the ids in `deleted` (ENTITY_IS_DELETED)."""

    def __init__(self, deleted=(), fail_with: SalesforceError | None = None):
        self.calls: list[tuple[str, list[str]]] = []
        self.deleted = set(deleted)
        self.fail_with = fail_with

    def _answer(self, ids):
        if self.fail_with is not None:
            raise self.fail_with
        gone = SalesforceError(Kind.PERMANENT, "ENTITY_IS_DELETED", "entity is deleted")
        return [
            RecordResult(id=i, success=False, error=gone)
            if i in self.deleted
            else RecordResult(id=i, success=True)
            for i in ids
        ]

    def collection_update(self, records):
        ids = [r["Id"] for r in records]
        self.calls.append(("update", ids))
        return self._answer(ids)

    def collection_delete(self, ids):
        self.calls.append(("delete", list(ids)))
        return self._answer(ids)


def event_move(ref: int, event_id: str) -> WriteBackItem:
    return WriteBackItem(
        ref=ref, ops=[WriteOp("event", "Event", event_id, UPDATE, {"Subject": "x"})]
    )


def test_updates_and_deletes_go_200_per_call():
    items = [event_move(i, f"00U{i:015d}") for i in range(450)]
    items += [WriteBackItem(ref=1000 + i, ops=[WriteOp("event", "Event", f"00V{i:015d}",
                                                       DELETE)]) for i in range(201)]  # fmt: skip
    client = FakeClient()

    outcomes = write_backs_push(client, items)

    assert [(kind, len(ids)) for kind, ids in client.calls] == [
        ("update", 200), ("update", 200), ("update", 50), ("delete", 200), ("delete", 1),
    ]  # fmt: skip
    assert all(o.ok for o in outcomes)
    assert outcomes[0].steps["event"]["done"] == "updated"


def test_one_record_changed_twice_is_never_twice_in_one_call():
    person = "00Q000000000001AAA"
    items = [
        WriteBackItem(ref=i, ops=[WriteOp("person", "Lead", person, UPDATE, {"Status": "x"})])
        for i in range(3)
    ]
    client = FakeClient()

    write_backs_push(client, items)

    assert client.calls == [("update", [person])] * 3


def test_deleting_what_is_gone_is_done_but_updating_it_fails_clearly():
    gone = "00U000000000009AAA"
    client = FakeClient(deleted={gone})
    delete = WriteBackItem(ref=1, ops=[WriteOp("event", "Event", gone, DELETE)])
    move = event_move(2, gone)

    deleted, moved = write_backs_push(client, [delete, move])

    assert deleted.ok and deleted.steps["event"]["done"] == "already deleted in Salesforce"
    assert moved.error.code == "ENTITY_IS_DELETED" and moved.error.kind is Kind.PERMANENT
    assert "was deleted in Salesforce" in moved.error.message


def test_a_retry_sends_only_what_is_not_done_and_a_failed_call_fails_each_item():
    item = WriteBackItem(
        ref=1,
        ops=[WriteOp("event", "Event", "00U000000000001AAA", DELETE),
             WriteOp("person", "Lead", "00Q000000000001AAA", UPDATE, {"Status": "x"})],
        steps={"event": {"done": "deleted"}},
    )  # fmt: skip
    unavailable = SalesforceError(Kind.TRANSIENT, "SERVER_UNAVAILABLE", "down", http_status=503)
    client = FakeClient(fail_with=unavailable)

    [outcome] = write_backs_push(client, [item])

    assert client.calls == [("update", ["00Q000000000001AAA"])]  # the delete was done
    assert (outcome.error, outcome.failed_step, outcome.http_status) == (unavailable, "person", 503)
    assert outcome.steps["event"] == {"done": "deleted"}


NO_SHOW = [{"value": "No-show", "label": "No show", "active": True}]


@pytest.mark.parametrize(
    ("raw", "text", "problem", "wire"),
    [
        ({"type": "boolean"}, "yes", "", True),
        ({"type": "boolean"}, "maybe", "is a checkbox", None),
        ({"type": "picklist", "picklistValues": NO_SHOW}, "No show", "", "No-show"),
        ({"type": "picklist", "picklistValues": NO_SHOW}, "Gone", "not a value", None),
        ({"type": "int"}, "3", "", 3),
        ({"type": "int"}, "3.5", "whole number", None),
        ({"type": "string", "length": 5}, "toolong", "at most 5", None),
        ({"type": "reference"}, "001", "cannot be set to a fixed value", None),
        ({"type": "string", "updateable": False}, "x", "may update", None),
    ],
)  # fmt: skip
def test_values_are_checked_and_typed_like_the_field(raw, text, problem, wire):
    facts = field_facts({"name": "F__c", "label": "F", "updateable": True, "nillable": True,
                         "createable": True, **raw})  # fmt: skip
    found = value_problem(facts, text)
    assert (problem in found) if problem else found == ""
    if not problem:
        assert value_wire(facts, text) == wire

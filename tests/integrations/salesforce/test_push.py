"""The push service's batching, at the client seam: a fake client that refuses a whole
collection when any record in it is bad, as Salesforce does for e.g. JSON_PARSER_ERROR."""

import itertools
from datetime import UTC, datetime

from integrations.salesforce.client import RecordResult
from integrations.salesforce.errors import Kind, SalesforceError
from integrations.salesforce.push import PushItem, records_push
from integrations.salesforce.schema import WriteMode

BAD = SalesforceError(Kind.PERMANENT, "JSON_PARSER_ERROR", "Cannot deserialize", http_status=400)


class WholeCallRefusingClient:
    """Refuses any call that carries a record marked bad; records every call."""

    def __init__(self):
        self.calls: list[int] = []
        self.ids = (f"00Q{n:015d}" for n in itertools.count(1))

    def collection_upsert(self, sobject, key_field, records, *, all_or_none=False, headers=None):
        self.calls.append(len(records))
        if any(r.get("Bad") for r in records):
            raise BAD
        return [RecordResult(id=next(self.ids), success=True, created=True) for _ in records]

    def upsert(self, sobject, key_field, key, record, *, headers=None):
        self.calls.append(1)
        if record.get("Bad"):
            raise BAD
        return RecordResult(id=next(self.ids), success=True, created=True)


def test_a_bad_record_refused_with_its_whole_collection_fails_alone():
    client = WholeCallRefusingClient()
    items = [
        PushItem(
            ref=n, record={"LastName": f"L{n}", **({"Bad": True} if n == 5 else {})}, key=f"k{n}"
        )
        for n in range(8)
    ]

    outcomes = records_push(
        client, sobject="Lead", write_mode=WriteMode.UPSERT, key_field="Ext__c", items=items
    )

    assert [o.ref for o in outcomes] == list(range(8))  # in item order
    assert [o.ref for o in outcomes if not o.ok] == [5]
    assert outcomes[5].error.code == "JSON_PARSER_ERROR"
    assert len(client.calls) <= 7  # halving: a few extra calls, not one per record


TIMEOUT = SalesforceError(Kind.TRANSIENT, "TIMEOUT", "Salesforce did not answer in time.")


class AnswerLosingClient:
    """Writes the records of every call, then loses the answer (a timeout after write),
    except records marked `Lost`, which never arrive. Answers queries by key like
    Salesforce, with SystemModstamp; `stale` keys carry an old stamp (an earlier write)."""

    def __init__(self, *, stale=(), query_error=None):
        self.stored: dict[str, dict] = {}
        self.stale, self.query_error = set(stale), query_error
        self.queries: list[str] = []
        self.ids = (f"00Q{n:015d}" for n in itertools.count(1))

    def collection_upsert(self, sobject, key_field, records, *, all_or_none=False, headers=None):
        for record in records:
            if not record.get("Lost"):
                self.stored[record[key_field]] = {
                    "Id": next(self.ids),
                    key_field: record[key_field],
                }
        raise TIMEOUT

    def query(self, soql):
        self.queries.append(soql)
        if self.query_error:
            raise self.query_error
        now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.000+0000")
        rows = []
        for key, row in self.stored.items():
            if f"'{key}'" in soql:
                stamp = "2020-01-01T00:00:00.000+0000" if key in self.stale else now
                rows.append({**row, "SystemModstamp": stamp})
        return {"records": rows, "done": True, "totalSize": len(rows)}


def unclear_items():
    return [
        PushItem(
            ref=n,
            record={"LastName": f"L{n}", "Ext__c": f"k{n}", **({"Lost": True} if n == 2 else {})},
            key=f"k{n}",
        )
        for n in range(4)
    ]


def test_a_write_whose_answer_was_lost_is_reconciled_by_one_query_not_retried():
    client = AnswerLosingClient(stale={"k3"})

    outcomes = records_push(
        client,
        sobject="Lead",
        write_mode=WriteMode.UPSERT,
        key_field="Ext__c",
        items=unclear_items(),
    )

    assert len(client.queries) == 1
    assert "WHERE Ext__c IN ('k0', 'k1', 'k2', 'k3')" in client.queries[0]
    assert [o.ok for o in outcomes] == [True, True, False, False]
    assert [o.record_id for o in outcomes[:2]] == [
        client.stored["k0"]["Id"],
        client.stored["k1"]["Id"],
    ]
    assert all(o.reconciled for o in outcomes[:2])
    assert outcomes[2].error.code == "TIMEOUT"  # never arrived: retried
    assert outcomes[3].error.code == "TIMEOUT"  # only an older write is there: retried


def test_a_failed_reconcile_query_leaves_the_errors_for_a_retry_by_key():
    client = AnswerLosingClient(query_error=TIMEOUT)

    outcomes = records_push(
        client,
        sobject="Lead",
        write_mode=WriteMode.UPSERT,
        key_field="Ext__c",
        items=unclear_items(),
    )

    assert [o.error.code for o in outcomes] == ["TIMEOUT"] * 4
    assert not any(o.reconciled for o in outcomes)

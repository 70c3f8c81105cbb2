"""The push service's batching, at the client seam: a fake client that refuses a whole
collection when any record in it is bad, as Salesforce does for e.g. JSON_PARSER_ERROR."""

import itertools

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

    def collection_upsert(self, sobject, key_field, records, *, all_or_none=False):
        self.calls.append(len(records))
        if any(r.get("Bad") for r in records):
            raise BAD
        return [RecordResult(id=next(self.ids), success=True, created=True) for _ in records]

    def upsert(self, sobject, key_field, key, record):
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

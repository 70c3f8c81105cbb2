"""simple-salesforce 1.12.10, unmodified, against the emulator over HTTPS."""

import pytest
from simple_salesforce.exceptions import (
    SalesforceMoreThanOneRecord,
    SalesforceResourceNotFound,
)
from simple_salesforce.format import format_external_id

from tests.fixtures_emulator import (
    emulator_admin,
    emulator_refresh,
    emulator_salesforce,
    sf_raw,
)

LEAD = {"LastName": "Lovelace", "Company": "Analytical Engines", "Region__c": "EMEA"}


def _stored(server, obj="Lead"):
    return emulator_admin(server, "GET", f"records/{obj}?seeded=false")  # what the API wrote


def test_create_returns_201_body_location_and_stores_the_record(sf_emulator, sf_client):
    response = sf_raw(sf_client, "POST", "sobjects/Lead/", json=LEAD)

    body = response.json()
    assert response.status_code == 201
    assert body == {"id": body["id"], "success": True, "errors": []}
    assert body["id"].startswith("00Q") and len(body["id"]) == 18
    assert response.headers["Location"] == f"/services/data/v59.0/sobjects/Lead/{body['id']}"
    [record] = _stored(sf_emulator)
    assert record["Id"] == body["id"]
    assert (record["LastName"], record["Company"], record["Status"]) == (
        "Lovelace",
        "Analytical Engines",
        "Open - Not Contacted",
    )


def test_sftype_create_get_update_delete_round_trip(sf_emulator, sf_client):
    lead = sf_client.Lead
    created = lead.create(dict(LEAD, FirstName="Ada", Meeting_Type__c="Demo"))

    fetched = lead.get(created["id"])
    assert fetched["attributes"] == {
        "type": "Lead",
        "url": f"/services/data/v59.0/sobjects/Lead/{created['id']}",
    }
    assert (fetched["Name"], fetched["Meeting_Type__c"], fetched["Email"]) == (
        "Ada Lovelace",
        "Demo",
        None,
    )
    assert lead.update(created["id"], {"Title": "Countess"}) == 204
    assert lead.get(created["id"])["Title"] == "Countess"
    assert lead.delete(created["id"]) == 204
    assert _stored(sf_emulator) == []
    with pytest.raises(SalesforceResourceNotFound):
        lead.get(created["id"])


def test_upsert_creates_then_updates_with_created_flag(sf_emulator, sf_client):
    path = format_external_id("LeadSync_Booking_Id__c", "bk-1")

    first = sf_client.Lead.upsert(path, LEAD, raw_response=True)
    second = sf_client.Lead.upsert(path, {"Title": "CTO"}, raw_response=True)

    assert first.status_code == 201
    assert first.json() == {
        "id": first.json()["id"],
        "success": True,
        "errors": [],
        "created": True,
    }
    assert second.status_code == 200
    assert second.json() == {
        "id": first.json()["id"],
        "success": True,
        "errors": [],
        "created": False,
    }
    [record] = _stored(sf_emulator)
    assert (record["LeadSync_Booking_Id__c"], record["Title"]) == ("bk-1", "CTO")


def test_upsert_on_api_45_answers_204_on_update(sf_emulator):
    client = emulator_salesforce(sf_emulator, emulator_refresh(sf_emulator).json(), version="45.0")

    assert client.Lead.upsert("LeadSync_Booking_Id__c/bk-45", LEAD) == 201
    assert client.Lead.upsert("LeadSync_Booking_Id__c/bk-45", {"Title": "x"}) == 204


def test_upsert_value_with_slash_stays_one_external_id(sf_emulator, sf_client):
    path = format_external_id("LeadSync_Booking_Id__c", "tenant/42")

    assert sf_client.Lead.upsert(path, LEAD) == 201

    assert [r["LeadSync_Booking_Id__c"] for r in _stored(sf_emulator)] == ["tenant/42"]


def test_upsert_by_unknown_external_field_is_404_not_found(sf_client):
    response = sf_raw(sf_client, "PATCH", "sobjects/Lead/Nope__c/1", json=LEAD)

    assert response.status_code == 404
    assert response.json() == [
        {"message": "The requested resource does not exist", "errorCode": "NOT_FOUND"}
    ]


def test_upsert_matching_two_records_is_300_with_their_urls(sf_emulator, sf_client):
    emulator_admin(
        sf_emulator,
        "POST",
        "schema",
        {"object": "Lead", "field": "LeadSync_Booking_Id__c", "set": {"unique": False}},
    )
    ids = [sf_client.Lead.create(dict(LEAD, LeadSync_Booking_Id__c="dup"))["id"] for _ in "ab"]

    response = sf_raw(sf_client, "PATCH", "sobjects/Lead/LeadSync_Booking_Id__c/dup", json=LEAD)

    assert response.status_code == 300
    assert response.json() == [f"/services/data/v59.0/sobjects/Lead/{i}" for i in ids]
    with pytest.raises(SalesforceMoreThanOneRecord):
        sf_client.Lead.upsert("LeadSync_Booking_Id__c/dup", LEAD)
    assert len(_stored(sf_emulator)) == 2


def test_query_returns_real_shape_for_where_and_limit(sf_client):
    for booking in ("bk-1", "bk-2", "bk-3"):
        sf_client.Lead.create(dict(LEAD, LeadSync_Booking_Id__c=booking))

    one = sf_client.query(
        "SELECT Id, LeadSync_Booking_Id__c FROM Lead "
        "WHERE LeadSync_Booking_Id__c = 'bk-2' AND Company = 'analytical engines'"
    )
    limited = sf_client.query("SELECT Id FROM Lead LIMIT 2")

    assert one["totalSize"] == 1 and one["done"] is True
    [record] = one["records"]
    assert list(record) == ["attributes", "Id", "LeadSync_Booking_Id__c"]
    assert record["attributes"]["type"] == "Lead"
    assert record["LeadSync_Booking_Id__c"] == "bk-2"
    assert limited["totalSize"] == 2


@pytest.mark.parametrize(
    ("soql", "code", "tail"),
    [
        (
            "SELECT Id, Foo__c FROM Lead",
            "INVALID_FIELD",
            "No such column 'Foo__c' on entity 'Lead'",
        ),
        ("SELECT Id FROM Nope", "INVALID_TYPE", "sObject type 'Nope' is not supported"),
        ("SELECT Id FRM Lead", "MALFORMED_QUERY", "unexpected token: FRM"),
    ],
)
def test_bad_query_is_400_with_salesforce_error(sf_client, soql, code, tail):
    response = sf_raw(sf_client, "GET", "query/", params={"q": soql})

    assert response.status_code == 400
    [error] = response.json()
    assert error["errorCode"] == code and "fields" not in error
    assert error["message"].startswith(f"\n{soql}\n") and tail in error["message"]


def test_restful_composite_create_returns_per_record_results(sf_emulator, sf_client):
    records = [dict(LEAD, attributes={"type": "Lead"}, LastName=n) for n in ("A", "B")]

    result = sf_client.restful(
        "composite/sobjects", method="POST", json={"allOrNone": False, "records": records}
    )

    assert [r["success"] for r in result] == [True, True]
    assert sorted(r["LastName"] for r in _stored(sf_emulator)) == ["A", "B"]


def test_limits_and_api_usage_follow_the_call_count(sf_emulator, sf_client):
    lead = sf_client.Lead
    lead.create(LEAD)

    limits = sf_client.limits()

    assert lead.api_usage["api-usage"].used == 1
    assert lead.api_usage["api-usage"].total == 15000
    assert limits["DailyApiRequests"]["Max"] == 15000
    assert limits["DailyApiRequests"]["Remaining"] == 15000 - 2
    assert sf_client.api_usage["api-usage"].used == 2
    state = emulator_admin(sf_emulator, "GET", "state")
    assert state["api_calls"] == {"sobject.create": 1, "limits": 1}


def test_get_by_external_id_returns_the_record(sf_client):
    created = sf_client.Lead.create(dict(LEAD, LeadSync_Booking_Id__c="bk-9"))

    fetched = sf_client.Lead.get_by_custom_id("LeadSync_Booking_Id__c", "bk-9")

    assert fetched["Id"] == created["id"]

"""Composite, sObject Collections retrieve/update/delete, the version resource and
unknown routes, through simple-salesforce (unmodified).

Shapes: reference §3 (Composite, Collections, error array) and the REST API Developer
Guide ("Composite", "sObject Collections Retrieve/Update/Delete", "Resources by Version").
"""

import pytest
from simple_salesforce.exceptions import SalesforceResourceNotFound

from tests.fixtures_emulator import emulator_admin, sf_raw

V = "/services/data/v59.0"
LEAD = {"LastName": "Lovelace", "Company": "Analytical Engines", "Region__c": "EMEA"}
HALTED = [
    {
        "errorCode": "PROCESSING_HALTED",
        "message": "The transaction was rolled back since another operation in the same "
        "transaction failed.",
    }
]


def _lead_and_event(**lead):
    return [
        {
            "method": "POST",
            "url": f"{V}/sobjects/Lead",
            "referenceId": "lead",
            "body": {**LEAD, **lead},
        },
        {
            "method": "POST",
            "url": f"{V}/sobjects/Event",
            "referenceId": "meeting",
            "body": {
                "WhoId": "@{lead.id}",
                "Subject": "Booked: intro call",
                "StartDateTime": "2026-12-01T10:00:00.000+0000",
                "EndDateTime": "2026-12-01T10:45:00.000+0000",
                "Location": "Video call",
                "Description": "Booked through LeadSync",
                "IsAllDayEvent": False,
            },
        },
        {"method": "GET", "url": f"{V}/sobjects/Event/@{{meeting.id}}", "referenceId": "read"},
    ]


def test_composite_creates_a_lead_and_its_event_in_one_call(sf_emulator, sf_client):
    used_before = emulator_admin(sf_emulator, "GET", "state")["api_usage"]["used"]

    response = sf_raw(
        sf_client,
        "POST",
        "composite",
        json={"allOrNone": True, "compositeRequest": _lead_and_event()},
    )

    body = response.json()
    lead, meeting, read = body["compositeResponse"]
    assert response.status_code == 200
    assert response.headers["Sforce-Limit-Info"] == f"api-usage={used_before + 1}/15000"
    assert lead == {
        "body": {"id": lead["body"]["id"], "success": True, "errors": []},
        "httpHeaders": {"Location": f"{V}/sobjects/Lead/{lead['body']['id']}"},
        "httpStatusCode": 201,
        "referenceId": "lead",
    }
    assert (meeting["httpStatusCode"], read["httpStatusCode"]) == (201, 200)
    assert read["body"]["WhoId"] == lead["body"]["id"]
    assert (read["body"]["DurationInMinutes"], read["body"]["ActivityDate"]) == (45, "2026-12-01")
    assert read["body"]["OwnerId"] == sf_emulator.org.user_id
    assert emulator_admin(sf_emulator, "GET", "state")["api_calls"]["composite"] == 1


def test_composite_all_or_none_rolls_back_and_halts_the_others(sf_emulator, sf_client):
    subrequests = _lead_and_event()
    subrequests[1]["body"]["EndDateTime"] = "2026-12-01T09:00:00.000+0000"  # before start

    body = sf_client.restful(
        "composite", method="POST", json={"allOrNone": True, "compositeRequest": subrequests}
    )

    lead, meeting, read = body["compositeResponse"]
    assert (lead["httpStatusCode"], lead["body"]) == (400, HALTED)
    assert meeting["httpStatusCode"] == 400
    assert meeting["body"][0]["errorCode"] == "FIELD_INTEGRITY_EXCEPTION"
    assert (read["httpStatusCode"], read["body"]) == (400, HALTED)
    assert emulator_admin(sf_emulator, "GET", "records/Lead?seeded=false") == []


def test_composite_without_all_or_none_keeps_what_succeeded(sf_emulator, sf_client):
    subrequests = _lead_and_event(Company=None)  # the Lead fails: Company is required

    body = sf_client.restful(
        "composite", method="POST", json={"allOrNone": False, "compositeRequest": subrequests}
    )

    lead, meeting, _ = body["compositeResponse"]
    assert lead["body"][0]["errorCode"] == "REQUIRED_FIELD_MISSING"
    assert meeting["httpStatusCode"] == 400
    assert meeting["body"] == [
        {
            "errorCode": "PROCESSING_HALTED",
            "message": "Invalid reference specified. No value for lead.id found in lead. "
            "Provided referenceId ('lead') or field selector ('id') might be incorrect.",
        }
    ]


def test_composite_honours_the_duplicate_header_for_its_subrequests(sf_client):
    person = {"FirstName": "Ada", "Email": "ada@lovelace.example"}
    sf_client.Lead.create({**LEAD, **person})
    payload = {"compositeRequest": _lead_and_event(**person)[:1]}

    refused = sf_client.restful("composite", method="POST", json=payload)
    allowed = sf_client.restful(
        "composite",
        method="POST",
        json=payload,
        headers={"Sforce-Duplicate-Rule-Header": "allowSave=true"},
    )

    assert refused["compositeResponse"][0]["body"][0]["errorCode"] == "DUPLICATES_DETECTED"
    assert allowed["compositeResponse"][0]["httpStatusCode"] == 201


def test_composite_refuses_more_than_25_subrequests(sf_client):
    subrequests = [
        {"method": "GET", "url": f"{V}/limits", "referenceId": f"r{i}"} for i in range(26)
    ]

    response = sf_raw(sf_client, "POST", "composite", json={"compositeRequest": subrequests})

    assert response.status_code == 400
    assert response.json()[0]["errorCode"] == "INVALID_API_INPUT"


def test_collections_retrieve_update_and_delete(sf_emulator, sf_client):
    ids = [sf_client.Lead.create(dict(LEAD, LastName=n))["id"] for n in ("A", "B")]
    missing = ids[0][:-6] + "AAAAAA"

    fetched = sf_client.restful(
        "composite/sobjects/Lead",
        method="POST",
        json={"ids": [ids[1], missing, ids[0]], "fields": ["LastName"]},
    )
    updated = sf_client.restful(
        "composite/sobjects",
        method="PATCH",
        json={"records": [{"attributes": {"type": "Lead"}, "id": i, "Title": "T"} for i in ids]},
    )
    deleted = sf_client.restful(
        "composite/sobjects", method="DELETE", params={"ids": ",".join([*ids, missing])}
    )

    assert [r and r["LastName"] for r in fetched] == ["B", None, "A"]
    assert fetched[0]["attributes"] == {"type": "Lead", "url": f"{V}/sobjects/Lead/{ids[1]}"}
    assert [r["success"] for r in updated] == [True, True]
    assert deleted[:2] == [{"id": i, "success": True, "errors": []} for i in ids]
    assert deleted[2]["success"] is False
    assert deleted[2]["errors"][0]["statusCode"] == "INVALID_CROSS_REFERENCE_KEY"
    assert emulator_admin(sf_emulator, "GET", "records/Lead?seeded=false") == []
    with pytest.raises(SalesforceResourceNotFound):
        sf_client.Lead.get(ids[0])
    assert emulator_admin(sf_emulator, "GET", "state")["api_calls"]["collection.delete"] == 1


def test_version_resource_lists_identity(sf_emulator, sf_client):
    resources = sf_raw(sf_client, "GET", "").json()

    org = sf_emulator.org
    assert resources["identity"] == f"{sf_emulator.base_url}/id/{org.org_id}/{org.user_id}"
    assert {"sobjects", "query", "queryAll", "search", "composite", "limits"} <= set(resources)


@pytest.mark.parametrize(
    "url",
    [
        "/services/data/v59.0/nope",
        "/services/apexrest/foo",
        "/nothing/here",
        "/services/data/v59.0/sobjects/Lead/a/b/c",
    ],
)
def test_every_unknown_route_answers_salesforce_not_found(sf_client, url):
    response = sf_client.session.get(sf_client.base_url.split("/services")[0] + url)

    assert response.status_code == 404
    assert response.json() == [
        {"message": "The requested resource does not exist", "errorCode": "NOT_FOUND"}
    ]


def test_a_method_a_route_does_not_take_is_405_in_salesforce_shape(sf_client):
    response = sf_raw(sf_client, "DELETE", "limits/")

    assert response.status_code == 405
    [error] = response.json()
    assert error["errorCode"] == "METHOD_NOT_ALLOWED"


def test_event_times_follow_the_start_and_the_end(sf_client):
    lead = sf_client.Lead.create(LEAD)["id"]
    event = sf_client.Event.create(
        {
            "WhoId": lead,
            "Subject": "Call",
            "StartDateTime": "2026-12-01T10:00:00Z",
            "DurationInMinutes": 30,
        }
    )["id"]

    created = sf_client.Event.get(event)
    sf_client.Event.update(event, {"StartDateTime": "2026-12-02T09:00:00Z"})  # rescheduled
    moved = sf_client.Event.get(event)
    sf_client.Event.update(event, {"EndDateTime": "2026-12-02T10:00:00Z"})
    longer = sf_client.Event.get(event)
    missing = sf_raw(sf_client, "POST", "sobjects/Event/", json={"Subject": "No time"})

    assert created["EndDateTime"] == "2026-12-01T10:30:00.000+0000"
    assert (moved["ActivityDateTime"], moved["EndDateTime"], moved["ActivityDate"]) == (
        "2026-12-02T09:00:00.000+0000",
        "2026-12-02T09:30:00.000+0000",
        "2026-12-02",
    )
    assert longer["DurationInMinutes"] == 60
    assert missing.json()[0]["errorCode"] == "REQUIRED_FIELD_MISSING"

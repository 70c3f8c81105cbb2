"""Duplicate rules of the lived-in org, through simple-salesforce (unmodified).

Body shapes: reference §4 (DUPLICATES_DETECTED, ``duplicateResut`` sic in single-record
REST bodies) and a real single-record body captured in public client tests:
``{"duplicateResut": {"allowSave", "duplicateRule", "duplicateRuleEntityType",
"errorMessage", "matchResults": [{"entityType", "errors", "matchEngine", "matchRecords":
[{"additionalInformation", "fieldDiffs", "matchConfidence", "record": {"attributes",
"Id"}}], "rule", "size", "success"}]}, "errorCode", "message"}``. Header flags: REST API
Developer Guide, "Duplicate Rule Header".
"""

import pytest
from simple_salesforce.exceptions import SalesforceMalformedRequest

from tests.fixtures_emulator import (
    emulator_admin,
    emulator_refresh,
    emulator_salesforce,
    sf_raw,
)

GUEST = {
    "FirstName": "Ada",
    "LastName": "Lovelace",
    "Email": "ada@lovelace.example",
    "Company": "Analytical Engines",
    "Region__c": "EMEA",
}
ALLOW = {"Sforce-Duplicate-Rule-Header": "allowSave=true"}


def _create(sf, body, headers=None):
    return sf_raw(sf, "POST", "sobjects/Lead/", json=body, headers=headers or {})


def test_second_booking_by_the_same_guest_is_duplicates_detected_as_in_a_real_org(sf_client):
    first = sf_client.Lead.create(GUEST)["id"]

    with pytest.raises(SalesforceMalformedRequest) as raised:
        sf_client.Lead.create(GUEST)

    assert raised.value.status == 400
    [error] = raised.value.content
    assert set(error) == {"duplicateResut", "message", "errorCode"}
    assert (error["errorCode"], error["message"]) == (
        "DUPLICATES_DETECTED",
        "Use one of these records?",
    )
    assert "fields" not in error
    assert error["duplicateResut"] == {
        "allowSave": True,
        "duplicateRule": "Standard_Lead_Duplicate_Rule",
        "duplicateRuleEntityType": "Lead",
        "errorMessage": "Use one of these records?",
        "matchResults": [
            {
                "entityType": "Lead",
                "errors": [],
                "matchEngine": "FuzzyMatchEngine",
                "matchRecords": [
                    {
                        "additionalInformation": [],
                        "fieldDiffs": [],
                        "matchConfidence": 100.0,
                        "record": {
                            "attributes": {
                                "type": "Lead",
                                "url": f"/services/data/v59.0/sobjects/Lead/{first}",
                            },
                            "Id": first,
                        },
                    }
                ],
                "rule": "Standard_Lead_Match_Rule_v1_0",
                "size": 1,
                "success": True,
            }
        ],
    }


def test_allow_save_header_lets_an_alerting_rule_save(sf_emulator, sf_client):
    sf_client.Lead.create(GUEST)

    saved = sf_client.Lead.create(GUEST, headers=ALLOW)

    assert saved["success"] is True
    rows = emulator_admin(sf_emulator, "GET", "records/Lead?seeded=false")
    assert [r["Id"] for r in rows if r["Email"] == GUEST["Email"]][-1] == saved["id"]
    assert len(rows) == 2


def test_the_header_is_ignored_before_api_v52(sf_emulator, sf_client):
    # "This header is available in API version 52.0 and later" (Duplicate Rule Header).
    old = emulator_salesforce(sf_emulator, emulator_refresh(sf_emulator).json(), version="51.0")
    sf_client.Lead.create(GUEST)

    response = _create(old, GUEST, ALLOW)

    assert response.status_code == 400
    assert response.json()[0]["errorCode"] == "DUPLICATES_DETECTED"


def test_a_returning_guest_matches_the_seeded_contact_across_objects(sf_emulator, sf_client):
    contact = sf_emulator.org.seed_ids["contacts"]["bill"]
    guest = {"FirstName": "bill", "LastName": "LUMBERGH", "Email": "Bill@Initech.example"}

    response = _create(sf_client, {**guest, "Company": "Initech", "Region__c": "EMEA"})

    [error] = response.json()
    [result] = error["duplicateResut"]["matchResults"]
    assert response.status_code == 400
    assert (result["entityType"], result["rule"]) == ("Contact", "Standard_Contact_Match_Rule_v1_1")
    assert [m["record"]["Id"] for m in result["matchRecords"]] == [contact]


def test_a_contact_matching_a_lead_is_refused_by_the_contact_rule(sf_emulator, sf_client):
    response = sf_raw(
        sf_client,
        "POST",
        "sobjects/Contact/",
        json={"FirstName": "Joanna", "LastName": "Smart", "Email": "joanna@vandelay.example"},
    )

    [error] = response.json()
    assert response.status_code == 400
    assert error["duplicateResut"]["duplicateRule"] == "Standard_Contact_Duplicate_Rule"
    assert error["duplicateResut"]["matchResults"][0]["entityType"] == "Lead"


@pytest.mark.parametrize(
    ("change", "duplicate"),
    [
        ({"FirstName": "A."}, True),  # an initial matches the first name
        ({"FirstName": "Lovelace", "LastName": "Ada"}, True),  # transposed
        ({"FirstName": "ADA", "LastName": "lovelace"}, True),  # case
        ({"Email": "other@lovelace.example", "Phone": "+44 20 7946 0000"}, True),  # phone
        ({"Email": "other@lovelace.example", "Title": "Countess"}, True),  # title + company
        ({"Email": "other@lovelace.example"}, False),  # name alone is not enough
        ({"FirstName": "Grace"}, False),  # the email alone only narrows candidates
        ({"FirstName": None}, False),  # a blank first name never matches
    ],
)
def test_standard_matching_equation(sf_client, change, duplicate):
    sf_client.Lead.create(dict(GUEST, Phone="+44 (20) 7946-0000", Title="countess"))
    candidate = {k: v for k, v in {**GUEST, **change}.items() if v is not None}

    response = _create(sf_client, candidate)

    assert (response.status_code == 400) is duplicate, response.json()
    if duplicate:
        assert response.json()[0]["errorCode"] == "DUPLICATES_DETECTED"


def test_include_record_details_returns_the_matched_fields(sf_client):
    first = sf_client.Lead.create(GUEST)["id"]

    response = _create(
        sf_client, GUEST, {"Sforce-Duplicate-Rule-Header": "includeRecordDetails=true"}
    )

    record = response.json()[0]["duplicateResut"]["matchResults"][0]["matchRecords"][0]["record"]
    assert record["Id"] == first
    assert (record["Email"], record["LastName"], record["Company"]) == (
        GUEST["Email"],
        "Lovelace",
        "Analytical Engines",
    )


def test_update_into_a_duplicate_is_refused_too(sf_client):
    sf_client.Lead.create(GUEST)
    other = sf_client.Lead.create(dict(GUEST, FirstName="Grace", Email="g@hopper.example"))

    refused = sf_raw(
        sf_client,
        "PATCH",
        f"sobjects/Lead/{other['id']}",
        json={"FirstName": "Ada", "Email": GUEST["Email"]},
    )
    allowed = sf_raw(
        sf_client, "PATCH", f"sobjects/Lead/{other['id']}", json={"Title": "Rear Admiral"}
    )

    assert refused.status_code == 400
    assert refused.json()[0]["errorCode"] == "DUPLICATES_DETECTED"
    assert allowed.status_code == 204


def test_upsert_creating_a_duplicate_is_refused(sf_client):
    sf_client.Lead.create(GUEST)

    response = sf_raw(sf_client, "PATCH", "sobjects/Lead/LeadSync_Booking_Id__c/bk-2", json=GUEST)
    with_header = sf_raw(
        sf_client,
        "PATCH",
        "sobjects/Lead/LeadSync_Booking_Id__c/bk-2",
        json=GUEST,
        headers=ALLOW,
    )

    assert response.status_code == 400
    assert response.json()[0]["errorCode"] == "DUPLICATES_DETECTED"
    assert with_header.status_code == 201


def test_collections_report_duplicates_per_record(sf_client):
    sf_client.Lead.create(GUEST)
    records = [
        dict(GUEST, attributes={"type": "Lead"}),
        dict(GUEST, attributes={"type": "Lead"}, FirstName="Grace", Email="g@hopper.example"),
    ]

    results = sf_client.restful(
        "composite/sobjects", method="POST", json={"allOrNone": False, "records": records}
    )

    duplicate, fine = results
    assert fine["success"] is True
    assert duplicate["success"] is False
    [error] = duplicate["errors"]
    assert (error["statusCode"], error["message"], error["fields"]) == (
        "DUPLICATES_DETECTED",
        "Use one of these records?",
        [],
    )
    # Collections serialise the DuplicateError field by its documented name.
    assert "duplicateResut" not in error
    assert error["duplicateResult"]["allowSave"] is True


def test_blocking_rule_refuses_even_with_the_header(sf_emulator, sf_client):
    emulator_admin(
        sf_emulator,
        "POST",
        "duplicate-rules/action",
        {"name": "Standard_Lead_Duplicate_Rule", "action": "block"},
    )
    sf_client.Lead.create(GUEST)

    response = _create(sf_client, GUEST, ALLOW)

    assert response.status_code == 400
    assert response.json()[0]["duplicateResut"]["allowSave"] is False


def test_rule_switched_off_lets_duplicates_save(sf_emulator, sf_client):
    emulator_admin(sf_emulator, "POST", "duplicate-rules/action", {"action": "off"})
    sf_client.Lead.create(GUEST)

    assert _create(sf_client, GUEST).status_code == 201


def test_blank_org_has_no_duplicate_rules(sf_emulator_blank, sf_blank_client):
    # The point of this test is the blank org itself: no standard rules are active.
    sf_blank_client.Lead.create(GUEST)

    assert _create(sf_blank_client, GUEST).status_code == 201
    assert emulator_admin(sf_emulator_blank, "GET", "duplicate-rules") == []


def test_collections_update_into_a_duplicate_fails_that_record_only(sf_client):
    sf_client.Lead.create(GUEST)
    grace = sf_client.Lead.create(dict(GUEST, FirstName="Grace", Email="g@hopper.example"))
    byron = sf_client.Lead.create(dict(GUEST, FirstName="Byron", Email="b@byron.example"))
    records = [
        {
            "attributes": {"type": "Lead"},
            "id": grace["id"],
            "FirstName": "Ada",
            "Email": GUEST["Email"],
        },
        {"attributes": {"type": "Lead"}, "id": byron["id"], "Title": "Poet"},
    ]

    results = sf_client.restful(
        "composite/sobjects", method="PATCH", json={"allOrNone": False, "records": records}
    )

    assert results[0]["success"] is False
    assert results[0]["errors"][0]["statusCode"] == "DUPLICATES_DETECTED"
    assert results[1] == {"id": byron["id"], "success": True, "errors": []}
    assert sf_client.Lead.get(grace["id"])["FirstName"] == "Grace"

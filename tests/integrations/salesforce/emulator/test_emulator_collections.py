"""sObject Collections: per-record results, allOrNone rollback, the 200-record cap."""

from tests.fixtures_emulator import emulator_admin, sf_raw

ROLLED_BACK = {
    "statusCode": "ALL_OR_NONE_OPERATION_ROLLED_BACK",
    "message": "Record rolled back because not all records were valid and the request was "
    "using AllOrNone header",
    "fields": [],
}


def _lead(name, **extra):
    return {
        "attributes": {"type": "Lead"},
        "LastName": name,
        "Company": "C",
        "Region__c": "R",
        **extra,
    }


def _stored(server):
    return emulator_admin(server, "GET", "records/Lead?seeded=false")  # what the API wrote


def test_without_all_or_none_valid_records_are_saved(sf_emulator, sf_client):
    body = {"allOrNone": False, "records": [_lead("A"), _lead("B", Email="bad"), _lead("C")]}

    response = sf_raw(sf_client, "POST", "composite/sobjects", json=body)

    results = response.json()
    assert response.status_code == 200
    assert [r["success"] for r in results] == [True, False, True]
    assert results[1] == {
        "success": False,
        "errors": [
            {
                "statusCode": "INVALID_EMAIL_ADDRESS",
                "message": "Email: invalid email address: bad",
                "fields": ["Email"],
            }
        ],
    }
    assert sorted(r["LastName"] for r in _stored(sf_emulator)) == ["A", "C"]
    assert emulator_admin(sf_emulator, "GET", "state")["api_usage"]["used"] == 1


def test_all_or_none_rolls_back_siblings(sf_emulator, sf_client):
    body = {"allOrNone": True, "records": [_lead("A"), _lead("B", Foo__c=1), _lead("C")]}

    results = sf_raw(sf_client, "POST", "composite/sobjects", json=body).json()

    assert results[0] == results[2] == {"success": False, "errors": [ROLLED_BACK]}
    assert results[1]["errors"][0]["statusCode"] == "INVALID_FIELD"
    assert _stored(sf_emulator) == []


def test_more_than_200_records_is_a_400(sf_emulator, sf_client):
    body = {"records": [_lead(str(i)) for i in range(201)]}

    response = sf_raw(sf_client, "POST", "composite/sobjects", json=body)

    assert response.status_code == 400
    assert response.json()[0]["errorCode"] == "EXCEEDED_ID_LIMIT"
    assert _stored(sf_emulator) == []


def test_exactly_200_records_are_accepted_as_one_call(sf_emulator, sf_client):
    body = {"records": [_lead(str(i)) for i in range(200)]}

    results = sf_raw(sf_client, "POST", "composite/sobjects", json=body).json()

    assert all(r["success"] for r in results) and len(results) == 200
    assert len(_stored(sf_emulator)) == 200


def test_upsert_collection_reports_created_per_record(sf_emulator, sf_client):
    sf_client.Lead.upsert(
        "LeadSync_Booking_Id__c/bk-1", {"LastName": "Old", "Company": "C", "Region__c": "R"}
    )
    body = {
        "allOrNone": False,
        "records": [
            _lead("New1", LeadSync_Booking_Id__c="bk-1"),
            _lead("New2", LeadSync_Booking_Id__c="bk-2"),
        ],
    }

    response = sf_raw(
        sf_client, "PATCH", "composite/sobjects/Lead/LeadSync_Booking_Id__c", json=body
    )

    results = response.json()
    assert [(r["success"], r["created"]) for r in results] == [(True, False), (True, True)]
    stored = {r["LeadSync_Booking_Id__c"]: r["LastName"] for r in _stored(sf_emulator)}
    assert stored == {"bk-1": "New1", "bk-2": "New2"}


def test_upsert_collection_all_or_none_with_a_bad_record_changes_nothing(sf_emulator, sf_client):
    sf_client.Lead.upsert(
        "LeadSync_Booking_Id__c/bk-1", {"LastName": "Old", "Company": "C", "Region__c": "R"}
    )
    body = {
        "allOrNone": True,
        "records": [
            _lead("New1", LeadSync_Booking_Id__c="bk-1"),
            _lead("New2", LeadSync_Booking_Id__c="bk-2", Meeting_Type__c="Lunch"),
        ],
    }

    results = sf_raw(
        sf_client, "PATCH", "composite/sobjects/Lead/LeadSync_Booking_Id__c", json=body
    ).json()

    assert results[0] == {"success": False, "errors": [ROLLED_BACK]}
    assert results[1]["errors"][0]["statusCode"] == "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST"
    assert [(r["LeadSync_Booking_Id__c"], r["LastName"]) for r in _stored(sf_emulator)] == [
        ("bk-1", "Old")
    ]


def test_upsert_collection_repeated_external_id_fails_both_records(sf_emulator, sf_client):
    body = {
        "records": [_lead("A", LeadSync_Booking_Id__c="x"), _lead("B", LeadSync_Booking_Id__c="X")]
    }

    results = sf_raw(
        sf_client, "PATCH", "composite/sobjects/Lead/LeadSync_Booking_Id__c", json=body
    ).json()

    assert [r["errors"][0]["statusCode"] for r in results] == ["DUPLICATE_EXTERNAL_ID"] * 2
    assert _stored(sf_emulator) == []

"""Salesforce's validation errors: codes, messages, fields, status, and nothing stored."""

import pytest

from tests.fixtures_emulator import emulator_admin, sf_raw

LEAD = {"LastName": "Lovelace", "Company": "Analytical Engines", "Region__c": "EMEA"}
UNABLE = (
    "Please check the security settings of this field and verify that it is read/write "
    "for your profile or permission set."
)


def _create(sf, body, headers=None):
    return sf_raw(sf, "POST", "sobjects/Lead/", json=body, headers=headers or {})


def _stored(server):
    return emulator_admin(server, "GET", "records/Lead?seeded=false")  # what the API wrote


@pytest.mark.parametrize(
    ("change", "error"),
    [
        (
            {"Foo__c": "x"},
            {
                "message": "No such column 'Foo__c' on sobject of type Lead",
                "errorCode": "INVALID_FIELD",
            },
        ),
        (
            {"Name": "Full Name", "IsDeleted": True},
            {
                "message": f"Unable to create/update fields: Name, IsDeleted. {UNABLE}",
                "errorCode": "INVALID_FIELD_FOR_INSERT_UPDATE",
                "fields": ["Name", "IsDeleted"],
            },
        ),
        (
            {"Company": "", "Region__c": None},
            {
                "message": "Required fields are missing: [Company, Region__c]",
                "errorCode": "REQUIRED_FIELD_MISSING",
                "fields": ["Company", "Region__c"],
            },
        ),
        (
            {"FirstName": "x" * 41},
            {
                "message": f"First Name: data value too large: {'x' * 41} (max length=40)",
                "errorCode": "STRING_TOO_LONG",
                "fields": ["FirstName"],
            },
        ),
        (
            {"Meeting_Type__c": "Lunch"},
            {
                "message": "Meeting Type: bad value for restricted picklist field: Lunch",
                "errorCode": "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
                "fields": ["Meeting_Type__c"],
            },
        ),
        (
            {"Email": "not-an-email"},
            {
                "message": "Email: invalid email address: not-an-email",
                "errorCode": "INVALID_EMAIL_ADDRESS",
                "fields": ["Email"],
            },
        ),
        (
            {"OwnerId": "nope"},
            {
                "message": "Owner ID: id value of incorrect type: nope",
                "errorCode": "MALFORMED_ID",
                "fields": ["OwnerId"],
            },
        ),
    ],
)
def test_create_error_has_salesforce_body_and_stores_nothing(sf_emulator, sf_client, change, error):
    response = _create(sf_client, {**LEAD, **change})

    assert response.status_code == 400
    assert response.json() == [error]
    assert _stored(sf_emulator) == []


@pytest.mark.parametrize(
    ("field", "value", "sf_type", "token"),
    [
        ("IsUnreadByOwner", "maybe", "boolean", "VALUE_STRING"),
        ("NumberOfEmployees", "many", "int", "VALUE_STRING"),
        ("NumberOfEmployees", 2.5, "int", "VALUE_NUMBER_FLOAT"),
        ("AnnualRevenue", [1], "double", "START_ARRAY"),
        ("Latitude", True, "double", "VALUE_TRUE"),
    ],
)
def test_wrong_json_type_is_json_parser_error(sf_client, field, value, sf_type, token):
    response = _create(sf_client, {**LEAD, field: value})

    assert response.status_code == 400
    [error] = response.json()
    assert error["errorCode"] == "JSON_PARSER_ERROR"
    assert error["message"].startswith(f"Cannot deserialize instance of {sf_type} from {token}")


def test_bad_date_and_datetime_are_json_parser_errors(sf_emulator, sf_client):
    emulator_admin(
        sf_emulator,
        "POST",
        "schema",
        [
            {"object": "Lead", "field": "ConvertedDate", "set": {"createable": True}},
            {"object": "Lead", "field": "EmailBouncedDate", "set": {"createable": True}},
        ],
    )

    bad_date = _create(sf_client, {**LEAD, "ConvertedDate": "2024-02-30"})
    bad_time = _create(sf_client, {**LEAD, "EmailBouncedDate": "yesterday"})
    good = _create(
        sf_client,
        {**LEAD, "ConvertedDate": "2024-02-29", "EmailBouncedDate": "2024-05-01T12:00:00+02:00"},
    )

    assert bad_date.json()[0]["errorCode"] == bad_time.json()[0]["errorCode"] == "JSON_PARSER_ERROR"
    assert good.status_code == 201
    [record] = _stored(sf_emulator)
    assert (record["ConvertedDate"], record["EmailBouncedDate"]) == (
        "2024-02-29",
        "2024-05-01T10:00:00.000+0000",
    )


def test_numbers_and_booleans_are_coerced_like_salesforce(sf_emulator, sf_client):
    response = _create(sf_client, {**LEAD, "NumberOfEmployees": "12", "IsUnreadByOwner": "false"})

    assert response.status_code == 201
    [record] = _stored(sf_emulator)
    assert (record["NumberOfEmployees"], record["IsUnreadByOwner"]) == (12, False)


def test_multipicklist_list_is_joined_with_semicolons(sf_emulator, sf_client):
    field = {
        **next(f for f in sf_client.Lead.describe()["fields"] if f["name"] == "Meeting_Type__c"),
        "name": "Topics__c",
        "label": "Topics",
        "type": "multipicklist",
        "soapType": "xsd:string",
        "length": 4099,
    }
    emulator_admin(sf_emulator, "POST", "schema", {"object": "Lead", "add_field": field})

    ok = _create(sf_client, {**LEAD, "Topics__c": ["Demo", "Support"]})
    bad = _create(sf_client, {**LEAD, "Topics__c": ["Demo", "Lunch"]})

    assert ok.status_code == 201
    assert _stored(sf_emulator)[0]["Topics__c"] == "Demo;Support"
    assert bad.json()[0]["errorCode"] == "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST"


def test_update_checks_updateable_and_blanked_required_fields(sf_emulator, sf_client):
    lead_id = sf_client.Lead.create(LEAD)["id"]

    not_updateable = sf_raw(
        sf_client, "PATCH", f"sobjects/Lead/{lead_id}", json={"IsConverted": True}
    )
    blanked = sf_raw(sf_client, "PATCH", f"sobjects/Lead/{lead_id}", json={"Company": None})

    assert not_updateable.status_code == 400
    assert not_updateable.json() == [
        {
            "message": f"Unable to create/update fields: IsConverted. {UNABLE}",
            "errorCode": "INVALID_FIELD_FOR_INSERT_UPDATE",
            "fields": ["IsConverted"],
        }
    ]
    assert blanked.json()[0]["fields"] == ["Company"]
    assert _stored(sf_emulator)[0]["Company"] == "Analytical Engines"


def test_unique_external_id_clash_is_duplicate_value(sf_emulator, sf_client):
    first = sf_client.Lead.create({**LEAD, "LeadSync_Booking_Id__c": "BK-1"})["id"]

    response = _create(sf_client, {**LEAD, "LeadSync_Booking_Id__c": "bk-1"})

    assert response.status_code == 400
    assert response.json() == [
        {
            "message": "duplicate value found: LeadSync_Booking_Id__c duplicates value on "
            f"record with id: {first}",
            "errorCode": "DUPLICATE_VALUE",
            "fields": [],
        }
    ]
    assert len(_stored(sf_emulator)) == 1


def test_validation_rule_fails_with_its_message_and_field(sf_emulator, sf_client):
    emulator_admin(
        sf_emulator,
        "POST",
        "validation-rules",
        [
            {
                "name": "Known_Region",
                "object": "Lead",
                "field": "Region__c",
                "message": "Region must be EMEA or AMER",
                "when": {"field": "Region__c", "op": "not_in", "value": ["EMEA", "AMER"]},
            },
            {
                "name": "Email_For_Demos",
                "object": "Lead",
                "message": "Demos need an email",
                "when": [
                    {"field": "Meeting_Type__c", "op": "equals", "value": "Demo"},
                    {"field": "Email", "op": "blank"},
                ],
            },
        ],
    )

    both = _create(sf_client, {**LEAD, "Region__c": "APAC", "Meeting_Type__c": "Demo"})
    fine = _create(sf_client, {**LEAD, "Meeting_Type__c": "Demo", "Email": "a@b.co"})

    assert both.status_code == 400
    assert both.json() == [
        {
            "message": "Region must be EMEA or AMER",
            "errorCode": "FIELD_CUSTOM_VALIDATION_EXCEPTION",
            "fields": ["Region__c"],
        },
        {
            "message": "Demos need an email",
            "errorCode": "FIELD_CUSTOM_VALIDATION_EXCEPTION",
            "fields": [],
        },
    ]
    assert fine.status_code == 201
    emulator_admin(sf_emulator, "DELETE", "validation-rules")
    assert _create(sf_client, {**LEAD, "Region__c": "APAC"}).status_code == 201


def _duplicate_rule(server, allow_save):
    emulator_admin(
        server,
        "POST",
        "duplicate-rules",
        {
            "name": "Lead_Email",
            "object": "Lead",
            "match_fields": ["Email"],
            "allow_save": allow_save,
        },
    )


def test_duplicate_rule_blocks_with_the_real_misspelled_body(sf_emulator, sf_client):
    _duplicate_rule(sf_emulator, allow_save=False)
    first = sf_client.Lead.create({**LEAD, "Email": "ada@example.com"})["id"]

    response = _create(
        sf_client,
        {**LEAD, "Email": "ADA@example.com"},
        headers={"Sforce-Duplicate-Rule-Header": "allowSave=true"},
    )

    assert response.status_code == 400
    [error] = response.json()
    assert error["errorCode"] == "DUPLICATES_DETECTED"
    assert error["message"] == "Use one of these records?"
    result = error["duplicateResut"]
    assert (result["allowSave"], result["duplicateRule"]) == (False, "Lead_Email")
    assert result["matchResults"][0]["matchRecords"][0]["record"]["Id"] == first
    assert len(_stored(sf_emulator)) == 1


def test_duplicate_rule_with_allow_save_honours_the_header(sf_emulator, sf_client):
    _duplicate_rule(sf_emulator, allow_save=True)
    sf_client.Lead.create({**LEAD, "Email": "ada@example.com"})

    alerted = _create(sf_client, {**LEAD, "Email": "ada@example.com"})
    saved = _create(
        sf_client,
        {**LEAD, "Email": "ada@example.com"},
        headers={"Sforce-Duplicate-Rule-Header": "allowSave=true"},
    )

    assert alerted.status_code == 400
    assert alerted.json()[0]["duplicateResut"]["allowSave"] is True
    assert saved.status_code == 201
    assert len(_stored(sf_emulator)) == 2


def test_upsert_validates_like_create_and_update(sf_emulator, sf_client):
    create = sf_raw(
        sf_client, "PATCH", "sobjects/Lead/LeadSync_Booking_Id__c/bk-1", json={"LastName": "X"}
    )
    sf_client.Lead.upsert("LeadSync_Booking_Id__c/bk-1", LEAD)
    update = sf_raw(
        sf_client, "PATCH", "sobjects/Lead/LeadSync_Booking_Id__c/bk-1", json={"Email": "bad"}
    )

    assert create.json()[0]["errorCode"] == "REQUIRED_FIELD_MISSING"
    assert update.json()[0]["errorCode"] == "INVALID_EMAIL_ADDRESS"
    assert _stored(sf_emulator)[0].get("Email") is None

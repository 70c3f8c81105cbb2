"""Describe payloads: the real captures round-trip, the overlay adds LeadSync's fields."""

import json
from pathlib import Path

import pytest

from tests.fixtures_emulator import emulator_admin, emulator_refresh, emulator_salesforce, sf_raw

SHARED = Path(__file__).resolve().parents[4] / "integrations/salesforce/emulator/org"


def _file(name):
    return json.loads((SHARED / f"{name}.json").read_text())


@pytest.mark.parametrize("obj", ["Account", "Custom__c"])
def test_describe_of_untouched_object_equals_the_captured_file(sf_client, obj):
    assert getattr(sf_client, obj).describe() == _file(obj)


def test_event_describe_is_the_capture_plus_the_booking_id_and_status_fields(sf_client):
    served, captured = sf_client.Event.describe(), _file("Event")

    assert served["fields"][: len(captured["fields"])] == captured["fields"]
    [added, status] = served["fields"][len(captured["fields"]) :]
    assert (status["name"], status["type"], status["updateable"]) == (
        "Meeting_Status__c",
        "picklist",
        True,
    )
    assert (added["name"], added["type"], added["filterable"]) == (
        "LeadSync_Booking_Id__c",
        "string",
        True,
    )
    assert added["externalId"] is False  # an Activity custom field: queried, not upserted


def test_lead_describe_is_the_capture_plus_the_overlay_fields(sf_client):
    served = sf_client.Lead.describe()
    captured = _file("Lead")

    assert served["fields"][: len(captured["fields"])] == captured["fields"]
    added = {f["name"]: f for f in served["fields"][len(captured["fields"]) :]}
    assert list(added) == [
        "LeadSync_Booking_Id__c",
        "Meeting_Type__c",
        "Region__c",
        "Meeting_Status__c",
        "Cancel_Reason__c",
    ]
    assert added["Cancel_Reason__c"]["nillable"]  # a write-back field, never required
    assert set(added["Region__c"]) == set(captured["fields"][0])  # same describe keys
    assert {k: v for k, v in served.items() if k != "fields"} == {
        k: v for k, v in captured.items() if k != "fields"
    }


def test_overlay_fields_have_the_properties_leadsync_relies_on(sf_client):
    fields = {f["name"]: f for f in sf_client.Lead.describe()["fields"]}

    ext = fields["LeadSync_Booking_Id__c"]
    assert (ext["type"], ext["length"], ext["externalId"], ext["unique"], ext["idLookup"]) == (
        "string",
        64,
        True,
        True,
        True,
    )
    assert ext["custom"] and ext["createable"] and ext["updateable"] and ext["nillable"]
    meeting = fields["Meeting_Type__c"]
    assert meeting["restrictedPicklist"] is True
    assert [p["value"] for p in meeting["picklistValues"]] == ["Demo", "Consultation", "Support"]
    region = fields["Region__c"]
    assert (region["length"], region["nillable"], region["defaultedOnCreate"]) == (40, False, False)
    contact = {f["name"] for f in sf_client.Contact.describe()["fields"]}
    assert "LeadSync_Booking_Id__c" in contact


def test_global_describe_is_the_capture_with_key_prefixes_filled_in(sf_client):
    served = sf_client.describe()
    captured = _file("Global")

    by_name = {s["name"]: s for s in served["sobjects"]}
    assert by_name["Lead"]["keyPrefix"] == "00Q"
    assert by_name["Account"] == next(s for s in captured["sobjects"] if s["name"] == "Account")
    # The captured list plus Group, which the capture lacks (written, org/written/README.md).
    captured_names = {s["name"] for s in captured["sobjects"]}
    assert {s["name"] for s in served["sobjects"]} - captured_names == {"Group"}
    assert len(served["sobjects"]) == len(captured["sobjects"]) + 1


def test_unknown_object_describe_is_404_not_found(sf_client):
    response = sf_raw(sf_client, "GET", "sobjects/Nope__c/describe")

    assert response.status_code == 404
    assert response.json() == [
        {"message": "The requested resource does not exist", "errorCode": "NOT_FOUND"}
    ]


def test_schema_mutation_changes_describe_and_validation(sf_emulator, sf_client):
    emulator_admin(
        sf_emulator,
        "POST",
        "schema",
        [
            {"object": "Lead", "remove_field": "Region__c"},
            {"object": "Lead", "field": "Company", "set": {"createable": False}},
        ],
    )

    fields = {f["name"]: f for f in sf_client.Lead.describe()["fields"]}
    assert "Region__c" not in fields
    assert fields["Company"]["createable"] is False
    response = sf_raw(sf_client, "POST", "sobjects/Lead/", json={"LastName": "X", "Region__c": "E"})
    assert response.json() == [
        {
            "message": "No such column 'Region__c' on sobject of type Lead",
            "errorCode": "INVALID_FIELD",
        }
    ]


def test_reset_restores_the_schema_and_keeps_only_seeded_tokens(sf_emulator, sf_client):
    emulator_admin(sf_emulator, "POST", "schema", {"object": "Lead", "remove_field": "Region__c"})

    emulator_admin(sf_emulator, "POST", "reset")

    assert sf_raw(sf_client, "GET", "sobjects/Lead/describe").status_code == 401
    client = emulator_salesforce(sf_emulator, emulator_refresh(sf_emulator).json())
    assert "Region__c" in {f["name"] for f in client.Lead.describe()["fields"]}


def test_versions_list_reaches_59(sf_client):
    response = sf_raw(
        sf_client, "GET", sf_client.base_url.split("/services")[0] + "/services/data/"
    )

    versions = response.json()
    assert {"label": "Winter '24", "url": "/services/data/v59.0", "version": "59.0"} in versions
    assert versions[-1]["version"] >= "59.0"

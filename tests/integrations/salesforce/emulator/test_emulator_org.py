"""The lived-in default org, the blank one, the admin switches, write counts, indexes."""

import pytest

from integrations.salesforce.emulator import EmulatorConfig, Org
from integrations.salesforce.emulator.store import Table
from tests.fixtures_emulator import emulator_admin, sf_raw

LEAD = {"LastName": "Lovelace", "Company": "Analytical Engines", "Region__c": "EMEA"}


def test_lived_in_org_has_users_a_queue_people_and_a_campaign(sf_emulator, sf_client):
    org = sf_emulator.org

    users = sf_client.query("SELECT Id, Username FROM User WHERE IsActive = true ORDER BY Username")
    queues = sf_client.query("SELECT Id, Name FROM Group WHERE Type = 'Queue'")
    converted = sf_client.query(
        "SELECT ConvertedContactId, IsConverted, Status FROM Lead WHERE IsConverted = true"
    )
    members = sf_client.query("SELECT Id, Campaign.Name FROM CampaignMember")
    contacts = sf_client.query("SELECT COUNT() FROM Contact")

    assert org.user_id in {r["Id"] for r in users["records"]}
    assert users["totalSize"] == 4  # the integration user and three colleagues; one inactive
    assert [r["Name"] for r in queues["records"]] == ["Inbound Leads"]
    [lead] = converted["records"]
    assert lead["ConvertedContactId"] == org.seed_ids["contacts"]["alice"]
    assert lead["Status"] == "Closed - Converted"
    assert {r["Campaign"]["Name"] for r in members["records"]} == {"Website bookings"}
    assert contacts["totalSize"] == 4
    state = emulator_admin(sf_emulator, "GET", "state")
    assert state["org"] == "lived_in"
    assert [r["name"] for r in state["duplicate_rules"]] == [
        "Standard_Lead_Duplicate_Rule",
        "Standard_Contact_Duplicate_Rule",
    ]
    assert [r["active"] for r in state["assignment_rules"]] == [True]


def test_seeded_people_never_use_the_test_factories_domains(sf_emulator):
    emails = [
        row.get("Email") or ""
        for obj in ("Lead", "Contact")
        for row in sf_emulator.org.records[obj].values()
    ]

    assert emails and all("@" in e for e in emails)
    assert not [e for e in emails if e.endswith(("@example.com", "@example.org", "@acme.test"))]


def test_reset_to_a_blank_org_and_back(sf_emulator):
    blank = emulator_admin(sf_emulator, "POST", "reset", {"org": "blank"})
    lived_in = emulator_admin(sf_emulator, "POST", "reset")

    assert blank["org"] == "blank"
    assert blank["records"]["Lead"] == 0 and blank["records"]["User"] == 1
    assert (blank["duplicate_rules"], blank["assignment_rules"]) == ([], [])
    assert lived_in["org"] == "lived_in" and lived_in["records"]["Lead"] == 6


def test_an_org_can_start_blank_and_refuses_an_unknown_profile():
    blank = Org(EmulatorConfig.from_mapping({"org": "blank"}))

    assert blank.record_counts()["Lead"] == 0 and blank.duplicate_rules == []
    with pytest.raises(ValueError, match="org must be one of"):
        EmulatorConfig.from_mapping({"org": "busy"})


def test_admin_makes_a_field_read_only_then_required(sf_emulator, sf_client):
    emulator_admin(
        sf_emulator, "POST", "field", {"object": "Lead", "field": "Title", "read_only": True}
    )
    read_only = sf_raw(sf_client, "POST", "sobjects/Lead/", json=dict(LEAD, Title="x"))
    described = sf_client.Lead.describe()
    emulator_admin(
        sf_emulator,
        "POST",
        "field",
        {"object": "Lead", "field": "Title", "read_only": False, "required": True},
    )
    required = sf_raw(sf_client, "POST", "sobjects/Lead/", json=LEAD)

    assert read_only.json()[0]["errorCode"] == "INVALID_FIELD_FOR_INSERT_UPDATE"
    title = next(f for f in described["fields"] if f["name"] == "Title")
    assert (title["createable"], title["updateable"]) == (False, False)
    assert required.json() == [
        {
            "message": "Required fields are missing: [Title]",
            "errorCode": "REQUIRED_FIELD_MISSING",
            "fields": ["Title"],
        }
    ]


def test_admin_validation_rule_is_enforced_and_removed(sf_emulator, sf_client):
    rule = {
        "name": "Needs_Phone",
        "object": "Lead",
        "message": "A phone number is required",
        "field": "Phone",
        "when": {"field": "Phone", "op": "blank"},
    }
    emulator_admin(sf_emulator, "POST", "validation-rules", rule)
    refused = sf_raw(sf_client, "POST", "sobjects/Lead/", json=LEAD)
    emulator_admin(sf_emulator, "DELETE", "validation-rules?name=Needs_Phone")

    assert refused.json()[0]["errorCode"] == "FIELD_CUSTOM_VALIDATION_EXCEPTION"
    assert sf_raw(sf_client, "POST", "sobjects/Lead/", json=LEAD).status_code == 201


def test_writes_counts_each_external_id_value(sf_emulator, sf_client):
    sf_client.Lead.upsert("LeadSync_Booking_Id__c/BK-1", LEAD)
    sf_client.Lead.upsert("LeadSync_Booking_Id__c/bk-1", {"Title": "CTO"})
    sf_client.Lead.upsert("LeadSync_Booking_Id__c/bk-2", LEAD)
    emulator_admin(
        sf_emulator,
        "POST",
        "schema",
        {"object": "Lead", "field": "LeadSync_Booking_Id__c", "set": {"unique": False}},
    )
    sf_client.Lead.create(dict(LEAD, LeadSync_Booking_Id__c="bk-2"))

    writes = emulator_admin(sf_emulator, "GET", "writes")

    assert writes["by_value"] == {
        "Lead.LeadSync_Booking_Id__c": {
            "bk-1": {"writes": 2, "creates": 1},
            "bk-2": {"writes": 2, "creates": 2},
        }
    }
    assert [(r["value"], r["writes"]) for r in writes["written_more_than_once"]] == [
        ("bk-1", 2),
        ("bk-2", 2),
    ]
    assert [r["value"] for r in writes["created_more_than_once"]] == ["bk-2"]
    assert writes["total_writes"] == 4


def test_rolled_back_collection_takes_its_write_counts_back(sf_emulator, sf_client):
    records = [
        dict(LEAD, attributes={"type": "Lead"}, LeadSync_Booking_Id__c="bk-1"),
        dict(LEAD, attributes={"type": "Lead"}, LeadSync_Booking_Id__c="bk-2", Email="bad"),
    ]

    sf_client.restful(
        "composite/sobjects/Lead/LeadSync_Booking_Id__c",
        method="PATCH",
        json={"allOrNone": True, "records": records},
    )

    assert emulator_admin(sf_emulator, "GET", "writes")["total_writes"] == 0


@pytest.fixture
def scans(monkeypatch):
    """Counts full-table scans (Table.values) the emulator makes."""
    counter = {"n": 0}
    original = Table.values

    def counting(self):
        counter["n"] += 1
        return original(self)

    monkeypatch.setattr(Table, "values", counting)
    return counter


def test_upserts_and_email_lookups_use_indexes_not_scans(sf_client, scans):
    records = [
        dict(LEAD, attributes={"type": "Lead"}, LastName=f"L{i}", Email=f"p{i}@index.example")
        for i in range(200)
    ]
    sf_client.restful("composite/sobjects", method="POST", json={"records": records})
    scans["n"] = 0

    sf_client.Lead.upsert("LeadSync_Booking_Id__c/bk-9", dict(LEAD, FirstName="Ada"))
    sf_client.Lead.upsert("LeadSync_Booking_Id__c/bk-9", {"Title": "CTO"})
    found = sf_client.query(
        "SELECT Id FROM Lead WHERE Email IN ('p1@index.example', 'p2@index.example')"
    )
    sf_client.Lead.get_by_custom_id("LeadSync_Booking_Id__c", "bk-9")

    assert found["totalSize"] == 2
    assert scans["n"] == 0
    sf_client.query("SELECT Id FROM Lead WHERE Title = 'CTO'")  # not indexed: a scan
    assert scans["n"] == 1


def test_a_person_joins_a_campaign_once(sf_emulator, sf_client):
    campaign = sf_emulator.org.seed_ids["campaign"]
    lead = sf_client.Lead.create(LEAD)["id"]

    joined = sf_client.CampaignMember.create({"CampaignId": campaign, "LeadId": lead})
    again = sf_raw(
        sf_client,
        "POST",
        "sobjects/CampaignMember/",
        json={"CampaignId": campaign, "LeadId": lead},
    )
    nobody = sf_raw(sf_client, "POST", "sobjects/CampaignMember/", json={"CampaignId": campaign})

    assert joined["success"] is True
    assert sf_client.CampaignMember.get(joined["id"])["Status"] == "Sent"
    assert again.status_code == 400
    assert again.json() == [
        {"message": "Already a campaign member.", "errorCode": "DUPLICATE_VALUE"}
    ]
    assert nobody.json()[0]["errorCode"] == "REQUIRED_FIELD_MISSING"

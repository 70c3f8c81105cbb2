"""The lived-in org's Lead assignment rule and ``Sforce-Auto-Assign``, through
simple-salesforce (unmodified).

REST API Developer Guide, "Assignment Rule Header": ``Sforce-Auto-Assign: FALSE`` skips
the rules, ``TRUE`` (the default) runs the active rule, an AssignmentRule id runs that rule.
"""

import pytest

from tests.fixtures_emulator import emulator_admin, sf_raw

LEAD = {"FirstName": "Ada", "LastName": "Lovelace", "Company": "AE", "Region__c": "EMEA"}


def _owner(sf, lead_id):
    return sf.Lead.get(lead_id)["OwnerId"]


@pytest.mark.parametrize("headers", [{}, {"Sforce-Auto-Assign": "TRUE"}])
def test_create_runs_the_active_rule_and_routes_to_the_queue(sf_emulator, sf_client, headers):
    created = sf_client.Lead.create(LEAD, headers=headers)["id"]

    row = sf_client.query(f"SELECT Owner.Name FROM Lead WHERE Id = '{created}'")["records"][0]
    assert _owner(sf_client, created) == sf_emulator.org.seed_ids["queue"]
    assert row["Owner"]["attributes"]["type"] == "Group"
    assert row["Owner"]["Name"] == "Inbound Leads"


def test_rule_entry_routes_partner_referrals_to_a_user(sf_emulator, sf_client):
    created = sf_client.Lead.create(dict(LEAD, LeadSource="Partner Referral"))["id"]

    assert _owner(sf_client, created) == sf_emulator.org.seed_ids["users"]["sales_lead"]


def test_auto_assign_false_keeps_the_owner_sent(sf_emulator, sf_client):
    rep = sf_emulator.org.seed_ids["users"]["rep"]

    kept = sf_client.Lead.create(dict(LEAD, OwnerId=rep), headers={"Sforce-Auto-Assign": "FALSE"})
    overridden = sf_client.Lead.create(dict(LEAD, OwnerId=rep, LastName="Byron"))

    assert _owner(sf_client, kept["id"]) == rep
    # Without the header the active rule wins over the OwnerId in the payload.
    assert _owner(sf_client, overridden["id"]) == sf_emulator.org.seed_ids["queue"]


def test_auto_assign_false_without_owner_leaves_the_calling_user(sf_emulator, sf_client):
    created = sf_client.Lead.create(LEAD, headers={"Sforce-Auto-Assign": "FALSE"})

    assert _owner(sf_client, created["id"]) == sf_emulator.org.user_id


def test_update_runs_the_rule_again_unless_told_not_to(sf_emulator, sf_client):
    rep = sf_emulator.org.seed_ids["users"]["rep"]
    created = sf_client.Lead.create(LEAD, headers={"Sforce-Auto-Assign": "FALSE"})["id"]

    sf_client.Lead.update(created, {"OwnerId": rep}, headers={"Sforce-Auto-Assign": "FALSE"})
    assert _owner(sf_client, created) == rep
    sf_client.Lead.update(created, {"Title": "Countess"})
    assert _owner(sf_client, created) == sf_emulator.org.seed_ids["queue"]


def test_an_assignment_rule_id_runs_that_rule_even_inactive(sf_emulator, sf_client):
    rep = sf_emulator.org.seed_ids["users"]["rep"]
    [rule] = emulator_admin(
        sf_emulator,
        "POST",
        "assignment-rules",
        {"name": "All to the rep", "active": False, "entries": [{"assign_to": rep}]},
    )[-1:]

    by_id = sf_client.Lead.create(LEAD, headers={"Sforce-Auto-Assign": rule["id"]})
    by_default = sf_client.Lead.create(dict(LEAD, LastName="Byron"))

    assert rule["id"].startswith("01Q") and len(rule["id"]) == 18
    assert _owner(sf_client, by_id["id"]) == rep
    assert _owner(sf_client, by_default["id"]) == sf_emulator.org.seed_ids["queue"]


def test_unknown_assignment_rule_id_is_refused(sf_client):
    response = sf_raw(
        sf_client,
        "POST",
        "sobjects/Lead/",
        json=LEAD,
        headers={"Sforce-Auto-Assign": "01Q5g000000AAAAAAA"},
    )

    assert response.status_code == 400
    assert response.json()[0]["errorCode"] == "INVALID_CROSS_REFERENCE_KEY"


def test_admin_switches_the_rule_off(sf_emulator, sf_client):
    emulator_admin(sf_emulator, "POST", "assignment-rules/active", {"active": False})

    created = sf_client.Lead.create(LEAD)["id"]

    assert _owner(sf_client, created) == sf_emulator.org.user_id


def test_collections_and_upsert_are_assigned_too(sf_emulator, sf_client):
    queue = sf_emulator.org.seed_ids["queue"]
    sf_client.Lead.upsert("LeadSync_Booking_Id__c/bk-1", LEAD)
    results = sf_client.restful(
        "composite/sobjects/Lead/LeadSync_Booking_Id__c",
        method="PATCH",
        json={"records": [dict(LEAD, attributes={"type": "Lead"}, LeadSync_Booking_Id__c="bk-2")]},
        headers={"Sforce-Auto-Assign": "FALSE"},
    )

    upserted = sf_client.Lead.get_by_custom_id("LeadSync_Booking_Id__c", "bk-1")
    assert upserted["OwnerId"] == queue
    assert _owner(sf_client, results[0]["id"]) == sf_emulator.org.user_id


def test_an_inactive_user_cannot_become_the_owner(sf_emulator, sf_client):
    former = sf_emulator.org.seed_ids["users"]["former"]

    response = sf_raw(
        sf_client,
        "POST",
        "sobjects/Lead/",
        json=dict(LEAD, OwnerId=former),
        headers={"Sforce-Auto-Assign": "FALSE"},
    )

    assert response.status_code == 400
    assert response.json() == [
        {
            "message": f"operation performed with inactive user [{former}] as owner of lead",
            "errorCode": "INACTIVE_OWNER_OR_USER",
            "fields": [],
        }
    ]

"""SOQL, paging, queryAll and SOSL through simple-salesforce (unmodified).

Paging: REST API Developer Guide, "Execute a SOQL Query" (``done``, ``nextRecordsUrl``,
batches of up to 2,000) and "Query Options Header" (``batchSize`` 200..2,000). Syntax:
SOQL and SOSL Reference ("Comparison Operators", "Logical Operators", "Date Formats and
Date Literals", "ORDER BY", "OFFSET", "COUNT()"; "FIND", "IN SearchGroup", "RETURNING").
"""

import re

import pytest

from tests.fixtures_emulator import emulator_admin, sf_raw


def _lead(index, **extra):
    return {
        "attributes": {"type": "Lead"},
        "FirstName": f"Guest{index}",
        "LastName": f"Bulk{index}",
        "Email": f"guest{index}@bulk.example",
        "Company": "Bulk Co" if index % 2 else "Other Co",
        "Region__c": "EMEA",
        **extra,
    }


def _bulk(sf, count, start=0):
    for first in range(start, start + count, 200):
        records = [_lead(i) for i in range(first, min(first + 200, start + count))]
        results = sf.restful("composite/sobjects", method="POST", json={"records": records})
        assert all(r["success"] for r in results)


def _query(sf, soql):
    return sf_raw(sf, "GET", "query/", params={"q": soql})


def test_4500_leads_come_back_in_three_pages_through_next_records_url(sf_emulator, sf_client):
    _bulk(sf_client, 4500)
    soql = "SELECT Id, Email FROM Lead WHERE Company LIKE '%Co'"

    first = sf_client.query(soql)
    second = sf_client.query_more(first["nextRecordsUrl"], identifier_is_url=True)
    third = sf_client.query_more(second["nextRecordsUrl"], identifier_is_url=True)

    assert (first["totalSize"], first["done"], len(first["records"])) == (4500, False, 2000)
    assert re.fullmatch(r"/services/data/v59\.0/query/01g\w{15}-2000", first["nextRecordsUrl"])
    assert second["nextRecordsUrl"].endswith("-4000")
    assert (second["done"], len(second["records"])) == (False, 2000)
    assert (third["done"], len(third["records"]), "nextRecordsUrl" in third) == (True, 500, False)
    emails = {r["Email"] for page in (first, second, third) for r in page["records"]}
    assert len(emails) == 4500
    assert sf_client.query_all(soql)["totalSize"] == 4500
    calls = emulator_admin(sf_emulator, "GET", "state")["api_calls"]
    assert calls["query"] == 6


def test_batch_size_header_sets_the_page_size(sf_client):
    _bulk(sf_client, 450)
    headers = {"Sforce-Query-Options": "batchSize=200"}

    page = sf_client.query("SELECT Id FROM Lead WHERE Email LIKE '%@bulk.example'", headers=headers)

    assert (page["totalSize"], len(page["records"]), page["done"]) == (450, 200, False)
    assert page["nextRecordsUrl"].endswith("-200")


def test_an_unknown_query_locator_is_refused(sf_client):
    response = sf_raw(sf_client, "GET", "query/01g5g00000AAAAAAAA-2000")

    assert response.status_code == 400
    assert response.json() == [
        {"message": "invalid query locator", "errorCode": "INVALID_QUERY_LOCATOR"}
    ]


def test_email_in_200_values_returns_exactly_those_rows(sf_client):
    _bulk(sf_client, 400)
    wanted = [f"GUEST{i}@bulk.example" for i in range(0, 400, 2)]  # case-insensitive
    values = ", ".join(f"'{email}'" for email in wanted)

    result = sf_client.query(f"SELECT Email FROM Lead WHERE Email IN ({values})")

    assert len(wanted) == 200
    assert sorted(r["Email"] for r in result["records"]) == sorted(e.lower() for e in wanted)


@pytest.mark.parametrize(
    ("where", "expected"),
    [
        ("LastName LIKE 'Bulk1%'", {"Bulk1", "Bulk10", "Bulk11"}),
        ("LastName LIKE 'bulk_'", {f"Bulk{i}" for i in range(10)}),
        ("LastName = 'Bulk1' OR LastName = 'Bulk2'", {"Bulk1", "Bulk2"}),
        ("(LastName = 'Bulk1' OR LastName = 'Bulk2') AND Company = 'Other Co'", {"Bulk2"}),
        ("LastName IN ('Bulk3', 'Bulk4') AND NOT Company = 'Other Co'", {"Bulk3"}),
        (
            "LastName NOT IN ('Bulk0') AND Email LIKE '%@bulk.example' AND FirstName < 'Guest2'",
            {"Bulk1", "Bulk10", "Bulk11"},
        ),
        ("CreatedDate = TODAY AND LastName LIKE 'Bulk1%'", {"Bulk1", "Bulk10", "Bulk11"}),
    ],
)
def test_where_clauses_return_the_right_rows(sf_client, where, expected):
    _bulk(sf_client, 12)

    result = sf_client.query(f"SELECT LastName FROM Lead WHERE {where}")

    assert {r["LastName"] for r in result["records"]} == expected


def test_date_literals_compare_as_dates_not_text(sf_emulator, sf_client):
    _bulk(sf_client, 3)
    seeded = len(sf_emulator.org.seed_ids["leads"])

    today = sf_client.query("SELECT Id FROM Lead WHERE CreatedDate = TODAY")
    recent = sf_client.query("SELECT Id FROM Lead WHERE CreatedDate = LAST_N_DAYS:30")
    older = sf_client.query("SELECT Id FROM Lead WHERE CreatedDate < LAST_N_DAYS:30")
    before = sf_client.query("SELECT Id FROM Lead WHERE CreatedDate < 2020-01-01T00:00:00Z")
    converted = sf_client.query(
        "SELECT Id FROM Lead WHERE ConvertedDate > 2020-01-01 AND IsConverted = true"
    )

    assert today["totalSize"] == 3
    # seed.py: Leads created 7 and 12 days ago are recent; 45, 60, 120, 300 days ago older.
    assert recent["totalSize"] == 3 + 2
    assert older["totalSize"] == seeded - 2
    assert before["totalSize"] == 0
    assert converted["totalSize"] == 1


def test_count_order_by_limit_and_offset(sf_client):
    _bulk(sf_client, 12)

    count = sf_client.query("SELECT COUNT() FROM Lead WHERE Email LIKE '%@bulk.example'")
    page = sf_client.query(
        "SELECT LastName FROM Lead WHERE Email LIKE '%@bulk.example' "
        "ORDER BY LastName DESC LIMIT 3 OFFSET 2"
    )

    assert (count["totalSize"], count["done"], count["records"]) == (12, True, [])
    assert [r["LastName"] for r in page["records"]] == ["Bulk7", "Bulk6", "Bulk5"]


def test_relationship_fields_nest_like_salesforce(sf_emulator, sf_client):
    contact = sf_emulator.org.seed_ids["contacts"]["alice"]

    result = sf_client.query(
        "SELECT Id, Owner.Name, ConvertedContact.Email, ConvertedContact.Account.Name "
        "FROM Lead WHERE IsConverted = true"
    )

    [row] = result["records"]
    assert list(row) == ["attributes", "Id", "Owner", "ConvertedContact"]
    assert row["Owner"] == {
        "attributes": {
            "type": "Group",
            "url": f"/services/data/v59.0/sobjects/Group/{sf_emulator.org.seed_ids['queue']}",
        },
        "Name": "Inbound Leads",
    }
    assert row["ConvertedContact"]["attributes"]["url"].endswith(contact)
    assert row["ConvertedContact"]["Email"] == "alice@umbrella.example"
    assert row["ConvertedContact"]["Account"]["Name"] == "Umbrella Health"
    by_relation = sf_client.query(
        "SELECT Id FROM Lead WHERE Owner.Name = 'Inbound Leads' "
        "AND ConvertedContact.CreatedDate < LAST_N_DAYS:30"
    )
    assert [r["Id"] for r in by_relation["records"]] == [row["Id"]]


@pytest.mark.parametrize(
    ("soql", "code", "reason"),
    [
        (
            "SELECT Id FROM Lead WHERE LastName = 'a' AND Email = 'b' OR Phone = 'c'",
            "MALFORMED_QUERY",
            "unexpected token: OR",
        ),
        (
            "SELECT Company, COUNT(Id) FROM Lead GROUP BY Company",
            "MALFORMED_QUERY",
            "COUNT(...) is not supported",
        ),
        ("SELECT Id FROM Lead GROUP BY Company", "MALFORMED_QUERY", "GROUP is not supported"),
        (
            "SELECT TYPEOF Owner WHEN User THEN Email END FROM Lead",
            "MALFORMED_QUERY",
            "TYPEOF is not supported",
        ),
        ("SELECT Id FROM Lead WITH SECURITY_ENFORCED", "MALFORMED_QUERY", "WITH is not supported"),
        (
            "SELECT Id FROM Lead WHERE Id IN (SELECT WhoId FROM Event)",
            "MALFORMED_QUERY",
            "SELECT is not supported",
        ),
        (
            "SELECT Id FROM Lead WHERE CreatedDate = '2024-01-01'",
            "INVALID_FIELD",
            "must be of type dateTime and should not be enclosed in quotes",
        ),
        (
            "SELECT Id FROM Lead WHERE CreatedDate = LAST_FORTNIGHT",
            "MALFORMED_QUERY",
            "unsupported date literal",
        ),
        ("SELECT Nope.Name FROM Lead", "INVALID_FIELD", "Didn't understand relationship 'Nope'"),
        ("SELECT Id FROM Lead OFFSET 2001", "NUMBER_OUTSIDE_VALID_RANGE", "Maximum SOQL offset"),
    ],
)
def test_unsupported_or_wrong_soql_is_refused_loudly(sf_client, soql, code, reason):
    response = _query(sf_client, soql)

    assert response.status_code == 400
    [error] = response.json()
    assert error["errorCode"] == code
    assert error["message"].startswith(f"\n{soql}\n") and reason in error["message"]


def test_query_all_returns_deleted_records(sf_client):
    created = sf_client.Lead.create({"LastName": "Gone", "Company": "C", "Region__c": "R"})["id"]
    sf_client.Lead.delete(created)
    soql = f"SELECT Id, IsDeleted FROM Lead WHERE Id = '{created}'"

    live = sf_client.query(soql)
    everything = sf_client.query_all(soql, include_deleted=True)

    assert live["totalSize"] == 0
    assert [(r["Id"], r["IsDeleted"]) for r in everything["records"]] == [(created, True)]


def test_sosl_finds_people_by_email_across_lead_and_contact(sf_emulator, sf_client):
    ids = sf_emulator.org.seed_ids
    query = "FIND {alice@umbrella.example} IN EMAIL FIELDS RETURNING Contact(Id, Name), Lead(Id)"

    found = sf_client.search(query)

    assert found["searchRecords"] == [
        {
            "attributes": {
                "type": "Contact",
                "url": f"/services/data/v59.0/sobjects/Contact/{ids['contacts']['alice']}",
            },
            "Id": ids["contacts"]["alice"],
            "Name": "Alice Abernathy",
        },
        {
            "attributes": {
                "type": "Lead",
                "url": f"/services/data/v59.0/sobjects/Lead/{ids['leads'][5]}",
            },
            "Id": ids["leads"][5],
        },
    ]


def test_sosl_name_search_with_a_wildcard_and_a_malformed_search(sf_client):
    found = sf_client.quick_search("Lumb*")
    malformed = sf_raw(sf_client, "GET", "search/", params={"q": "FIND Lumbergh"})

    assert [r["attributes"]["type"] for r in found["searchRecords"]] == ["Contact"]
    assert malformed.status_code == 400
    assert malformed.json()[0]["errorCode"] == "MALFORMED_SEARCH"


def test_the_oldest_open_cursor_is_dropped_past_the_limit(sf_client):
    _bulk(sf_client, 201)
    headers = {"Sforce-Query-Options": "batchSize=200"}
    soql = "SELECT Id FROM Lead WHERE Email LIKE '%@bulk.example'"
    pages = [sf_client.query(soql, headers=headers) for _ in range(51)]  # 51 open cursors

    oldest = sf_raw(sf_client, "GET", pages[0]["nextRecordsUrl"].split("/v59.0/")[1])
    newest = sf_client.query_more(pages[-1]["nextRecordsUrl"], identifier_is_url=True)

    assert oldest.status_code == 400
    assert oldest.json()[0]["errorCode"] == "INVALID_QUERY_LOCATOR"
    assert (newest["done"], len(newest["records"])) == (True, 1)

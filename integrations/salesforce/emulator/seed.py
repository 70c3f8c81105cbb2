"""The lived-in default org: what a customer's org already holds when LeadSync connects.

Users (one of them the connected integration user), a Lead queue, Accounts, Contacts,
Leads (one converted into its Contact), a campaign with members, a past meeting, the
standard duplicate rules active as in every new org (duplicates.py), and an active Lead
assignment rule routing to the queue or a user (assignment.py).

Seeded people use their companies' own domains (``@globex.example`` and the like), never
``@example.com`` / ``@example.org`` / ``@acme.test``, which LeadSync's test factories use:
a product test's guest is never a returning guest by accident.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from .store import derive_fields, system_fields

DAY = 86_400

# (key, first, last, email, title, active)
USERS = [
    ("sales_lead", "Priya", "Raman", "priya.raman@leadsync.example", "Head of Sales", True),
    ("rep", "Tomás", "Ferreira", "tomas.ferreira@leadsync.example", "Account Executive", True),
    ("sdr", "Grace", "Okafor", "grace.okafor@leadsync.example", "Sales Development Rep", True),
    ("former", "Ben", "Hollis", "ben.hollis@leadsync.example", "Account Executive", False),
]
QUEUE = {"Name": "Inbound Leads", "DeveloperName": "Inbound_Leads", "Type": "Queue"}
ACCOUNTS = [
    ("globex", "Globex Corporation", "Manufacturing", "rep"),
    ("initech", "Initech", "Technology", "rep"),
    ("umbrella", "Umbrella Health", "Healthcare", "sales_lead"),
]
# (key, account, first, last, email, phone, title, days ago)
CONTACTS = [
    ("hank", "globex", "Hank", "Scorpio", "hank.scorpio@globex.example", "+1 555 0100", "CEO", 420),
    ("mindy", "globex", "Mindy", "Simmons", "m.simmons@globex.example", None, "Engineer", 210),
    ("bill", "initech", "Bill", "Lumbergh", "bill@initech.example", "+1 555 0142", "VP", 365),
    ("alice", "umbrella", "Alice", "Abernathy", "alice@umbrella.example", None, "COO", 90),
]
# (first, last, email, company, status, source, days ago, converted into contact key)
LEADS = [
    (
        "Peter",
        "Gibbons",
        "peter.gibbons@initech.example",
        "Initech",
        "Working - Contacted",
        "Web",
        60,
        None,
    ),
    (
        "Samir",
        "Nagheenanajar",
        "samir@initech.example",
        "Initech",
        "Open - Not Contacted",
        "Web",
        45,
        None,
    ),
    (
        "Milton",
        "Waddams",
        "milton@initech.example",
        "Initech",
        "Closed - Not Converted",
        "Phone Inquiry",
        300,
        None,
    ),
    (
        "Lisa",
        "Trevor",
        "l.trevor@umbrella.example",
        "Umbrella Health",
        "Open - Not Contacted",
        "Partner Referral",
        12,
        None,
    ),
    (
        "Joanna",
        "Smart",
        "joanna@vandelay.example",
        "Vandelay Industries",
        "Working - Contacted",
        "Web",
        7,
        None,
    ),
    (
        "Alice",
        "Abernathy",
        "alice@umbrella.example",
        "Umbrella Health",
        "Closed - Converted",
        "Web",
        120,
        "alice",
    ),
]
CAMPAIGN = {"Name": "Website bookings", "Type": "Webinar", "Status": "In Progress"}


def _stamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}+0000"


class _Seeder:
    def __init__(self, org: Any) -> None:
        self.org = org
        self.now = datetime.fromtimestamp(org.now(), tz=UTC).replace(microsecond=0)

    def add(self, obj: str, values: dict[str, Any], *, days_ago: int = 400, owner=None) -> str:
        org = self.org
        moment = _stamp(self.now - timedelta(days=days_ago))
        record = system_fields(org.schema, obj, now=moment, user_id=org.user_id)
        if owner and "OwnerId" in record:
            record["OwnerId"] = owner
        record.update(values)
        record["Id"] = values.get("Id") or org.new_id(obj)
        derive_fields(org.schema, obj, record)
        org.records[obj][record["Id"]] = record
        org.seeded.add(record["Id"])
        return record["Id"]


def populate(org: Any) -> None:
    """Fill a reset org with the lived-in data set and switch its rules on."""
    seed = _Seeder(org)
    users = {
        key: seed.add(
            "User",
            {
                "FirstName": first,
                "LastName": last,
                "Username": email,
                "Email": email,
                "Alias": (first[0] + last)[:8].lower(),
                "Title": title,
                "IsActive": active,
                "UserType": "Standard",
                "TimeZoneSidKey": "Europe/London",
            },
            days_ago=800,
        )
        for key, first, last, email, title, active in USERS
    }
    queue = seed.add("Group", dict(QUEUE, Email="inbound@leadsync.example"), days_ago=800)
    accounts = {
        key: seed.add("Account", {"Name": name, "Industry": industry}, owner=users[owner])
        for key, name, industry, owner in ACCOUNTS
    }
    contacts = {}
    for key, account, first, last, email, phone, title, days in CONTACTS:
        values = {"AccountId": accounts[account], "FirstName": first, "LastName": last}
        values.update(Email=email, Phone=phone, Title=title, LeadSource="Web")
        values = {k: v for k, v in values.items() if v is not None}
        contacts[key] = seed.add("Contact", values, days_ago=days, owner=users["rep"])
    leads = []
    for first, last, email, company, status, source, days, converted in LEADS:
        values = {"FirstName": first, "LastName": last, "Email": email, "Company": company}
        values.update(Status=status, LeadSource=source, Region__c="EMEA")
        if converted:
            converted_on = (seed.now - timedelta(days=days - 3)).date().isoformat()
            values.update(IsConverted=True, ConvertedContactId=contacts[converted])
            values.update(ConvertedAccountId=accounts["umbrella"], ConvertedDate=converted_on)
        leads.append(seed.add("Lead", values, days_ago=days, owner=queue))
    campaign = seed.add(
        "Campaign", dict(CAMPAIGN, IsActive=True, StartDate="2026-01-01"), owner=users["sales_lead"]
    )
    seed.add("CampaignMember", {"CampaignId": campaign, "ContactId": contacts["hank"]}, days_ago=30)
    seed.add("CampaignMember", {"CampaignId": campaign, "LeadId": leads[4]}, days_ago=7)
    start = seed.now.replace(hour=14, minute=0, second=0) - timedelta(days=30)
    seed.add(
        "Event",
        {
            "WhoId": contacts["hank"],
            "WhatId": accounts["globex"],
            "AccountId": accounts["globex"],
            "Subject": "Intro call (booked)",
            "StartDateTime": _stamp(start),
            "EndDateTime": _stamp(start + timedelta(minutes=30)),
            "ActivityDateTime": _stamp(start),
            "ActivityDate": start.date().isoformat(),
            "DurationInMinutes": 30,
            "IsAllDayEvent": False,
            "Location": "Video call",
        },
        days_ago=31,
        owner=users["rep"],
    )
    org.seed_ids = {
        "users": users,
        "queue": queue,
        "accounts": accounts,
        "contacts": contacts,
        "leads": leads,
        "campaign": campaign,
    }

"""Duplicate rules and the standard matching rules (DUPLICATES_DETECTED).

Every new org has two active duplicate rules, each action "Allow" with an alert on create
and on edit: the Standard Lead Duplicate Rule (compares a Lead with Leads and, in orgs
created since Summer '17, with Contacts) and the Standard Contact Duplicate Rule (a
Contact with Contacts and Leads). Through the API an alerting rule refuses the save with
DUPLICATES_DETECTED (``allowSave: true``) unless the request carries
``Sforce-Duplicate-Rule-Header: allowSave=true``; a blocking rule refuses regardless.
Docs: "Standard Duplicate Rules" and "Standard Matching Rules" (Salesforce Help),
"Duplicate Rule Header" (REST API Developer Guide,
https://developer.salesforce.com/docs/platform/api-rest/guide/headers-duplicaterules.html:
allowSave, includeRecordDetails, runAsCurrentUser, all false by default, API v52.0 and
later), "DuplicateResult" (Object Reference).

The matching equation, for a person (Lead or Contact) against another::

    name AND (email OR phone OR (title AND company) OR (title AND email))

Simplifications of Salesforce's fuzzy algorithms, on purpose:
- name: last names equal ignoring case; first names equal ignoring case, or one is the
  other's initial ("J" / "J." vs "John"); or first and last transposed. Salesforce also
  uses Jaro-Winkler distance and a name-variant table (Bob ~ Robert); we do not.
- email exact (ignoring case); phone equal on its digits (Salesforce compares the
  area code and the rest separately); title and company equal ignoring case and
  punctuation (Salesforce: acronym and edit-distance algorithms). A Contact's company is
  its Account's Name. Blank fields never match ("match blank fields" off, as standard).
- ``runAsCurrentUser`` is accepted and changes nothing: it makes sharing rules decide
  which matches the caller may see, and the emulator's one user sees every record.
- records of one Collections request are compared with the records saved before them in
  the same request (they are saved in order).
- candidates are narrowed through indexes on Email, Phone and the last/first name (the
  match keys), so matching costs what the candidates cost, not the org's size.

Legacy rule shape (exact match on fields of the same object), still accepted::

    {"name": "Lead_Email", "object": "Lead", "match_fields": ["Email"], "allow_save": false}
"""

from __future__ import annotations

import re
from typing import Any

from .responses import sf_error
from .store import fold, phone_key

ALERT = "Use one of these records?"  # the standard rules' alert text
LEGACY_ALERT = (
    "You're creating a duplicate record. We recommend you use an existing record instead."
)
ACTIONS = ("allow", "block", "off")
MATCHING_RULES = {
    "Lead": "Standard_Lead_Match_Rule_v1_0",
    "Contact": "Standard_Contact_Match_Rule_v1_1",
}
_PUNCT = re.compile(r"[^\w]+")


def standard_rules() -> list[dict[str, Any]]:
    """The two duplicate rules every new org has, active."""
    return [
        {
            "name": "Standard_Lead_Duplicate_Rule",
            "object": "Lead",
            "action": "allow",
            "compare": ["Lead", "Contact"],
            "alert_text": ALERT,
        },
        {
            "name": "Standard_Contact_Duplicate_Rule",
            "object": "Contact",
            "action": "allow",
            "compare": ["Contact", "Lead"],
            "alert_text": ALERT,
        },
    ]


def normalise_rule(schema: Any, rule: dict[str, Any]) -> dict[str, Any]:
    """Check a rule (standard or legacy shape); return it with canonical names.

    Raises ValueError. ``action``: allow (alert; the header lets it save), block, off.
    """
    obj = schema.object_name(str(rule.get("object", "")))
    if obj is None:
        raise ValueError(f"unknown object {rule.get('object')!r}")
    if "action" in rule:
        action = rule["action"]
    else:
        action = "allow" if rule.get("allow_save", False) else "block"
    if action not in ACTIONS:
        raise ValueError(f"action must be one of {ACTIONS}")
    out: dict[str, Any] = {"name": rule.get("name", f"{obj}_Duplicate_Rule"), "object": obj}
    out["action"] = action
    if rule.get("match_fields"):
        fields = []
        for name in rule["match_fields"]:
            field = schema.field(obj, str(name))
            if field is None:
                raise ValueError(f"unknown field {obj}.{name}")
            fields.append(field["name"])
        out.update(match_fields=fields, compare=[obj], alert_text=rule.get("alert_text"))
        out["matching_rule"] = rule.get("matching_rule", f"{obj}_Match_Rule")
        return out
    compare = rule.get("compare") or [obj]
    if obj not in MATCHING_RULES or any(other not in MATCHING_RULES for other in compare):
        raise ValueError("standard matching compares Leads and Contacts; use match_fields")
    out.update(compare=list(compare), alert_text=rule.get("alert_text", ALERT))
    return out


def parse_header(value: str) -> dict[str, bool]:
    """``Sforce-Duplicate-Rule-Header: allowSave=true; includeRecordDetails=true;
    runAsCurrentUser=true`` -> flags (each false unless given as true)."""
    flags = {"allowSave": False, "includeRecordDetails": False, "runAsCurrentUser": False}
    for part in re.split(r"[;,]", value or ""):
        key, _, raw = part.strip().partition("=")
        for name in flags:
            if key.strip().lower() == name.lower():
                flags[name] = raw.strip().lower() == "true"
    return flags


# -- matching ------------------------------------------------------------------------------------


def _person(org: Any, obj: str, record: dict[str, Any]) -> dict[str, Any]:
    company = record.get("Company")
    if obj == "Contact" and record.get("AccountId"):
        account = org.records["Account"].get(record["AccountId"]) or {}
        company = account.get("Name")
    return {
        "first": fold(record.get("FirstName")) or "",
        "last": fold(record.get("LastName")) or "",
        "email": fold(record.get("Email")) or "",
        "phone": phone_key(record.get("Phone")) or "",
        "title": _words(record.get("Title")),
        "company": _words(company),
    }


def _words(value: Any) -> str:
    return _PUNCT.sub(" ", fold(value)).strip() if isinstance(value, str) else ""


def _first_names_match(a: str, b: str) -> bool:
    if not a or not b:
        return False
    a, b = a.rstrip("."), b.rstrip(".")
    if len(a) == 1 or len(b) == 1:
        return a[0] == b[0]
    return a == b


def names_match(a: dict[str, Any], b: dict[str, Any]) -> bool:
    """Loose person-name comparison (see the module docstring)."""
    if not a["last"] or not b["last"]:
        return False
    straight = a["last"] == b["last"] and _first_names_match(a["first"], b["first"])
    transposed = a["first"] == b["last"] and a["last"] == b["first"]
    return straight or transposed


def persons_match(a: dict[str, Any], b: dict[str, Any]) -> bool:
    """The standard matching rules' equation (module docstring)."""
    if not names_match(a, b):
        return False
    email = bool(a["email"]) and a["email"] == b["email"]
    phone = bool(a["phone"]) and a["phone"] == b["phone"]
    title = bool(a["title"]) and a["title"] == b["title"]
    company = bool(a["company"]) and a["company"] == b["company"]
    return email or phone or (title and company) or (title and email)


def _candidates(org: Any, other: str, record: dict[str, Any]) -> list[dict[str, Any]]:
    table = org.records[other]
    found: dict[str, dict[str, Any]] = {}
    keys = [("Email", record.get("Email")), ("Phone", record.get("Phone"))]
    keys += [("LastName", record.get("LastName")), ("LastName", record.get("FirstName"))]
    for field, value in keys:
        if value not in (None, ""):
            for candidate in table.lookup(field, value):
                found[candidate["Id"]] = candidate
    return [found[key] for key in sorted(found)]


def _matches(org: Any, rule: dict[str, Any], obj: str, other: str, record: dict) -> list[dict]:
    if rule.get("match_fields"):
        keys = [fold(record.get(name)) for name in rule["match_fields"]]
        if any(key in (None, "") for key in keys):
            return []
        first = rule["match_fields"][0]
        pool = (
            org.records[other].lookup(first, record.get(first))
            if org.records[other].is_indexed(first)
            else list(org.records[other].values())
        )
        return [
            row
            for row in pool
            if row["Id"] != record.get("Id")
            and [fold(row.get(name)) for name in rule["match_fields"]] == keys
        ]
    me = _person(org, obj, record)
    # A converted Lead is history, not a person to match (it is read-only in Salesforce).
    return [
        row
        for row in _candidates(org, other, record)
        if row["Id"] != record.get("Id")
        and not row.get("IsConverted")
        and persons_match(me, _person(org, other, row))
    ]


def check(
    org: Any, obj: str, record: dict[str, Any], *, header: dict[str, bool], version: str
) -> list[dict[str, Any]]:
    """DUPLICATES_DETECTED for the first active rule that finds matches, else [].

    The entry carries ``duplicateResut`` (sic: the single-record REST body's real key;
    rest_collections renames it for Collections).
    """
    for rule in org.duplicate_rules:
        if rule["object"] != obj or rule["action"] == "off":
            continue
        results = []
        for other in rule["compare"]:
            found = _matches(org, rule, obj, other, record)
            if found:
                results.append(_match_result(org, rule, other, found, header, version))
        if not results:
            continue
        if rule["action"] == "allow" and header["allowSave"]:
            continue
        return [_error(rule, obj, results)]
    return []


def _match_result(
    org: Any, rule: dict, other: str, rows: list[dict], header: dict[str, bool], version: str
) -> dict[str, Any]:
    records = []
    for row in rows:
        record = {
            "attributes": {
                "type": other,
                "url": f"/services/data/v{version}/sobjects/{other}/{row['Id']}",
            }
        }
        if header["includeRecordDetails"]:
            record.update({k: v for k, v in row.items() if k != "Id"})
        record["Id"] = row["Id"]
        records.append(
            {
                "additionalInformation": [],
                "fieldDiffs": [],
                "matchConfidence": 100.0,
                "record": record,
            }
        )
    return {
        "entityType": other,
        "errors": [],
        "matchEngine": "ExactMatchEngine" if rule.get("match_fields") else "FuzzyMatchEngine",
        "matchRecords": records,
        "rule": rule.get("matching_rule") or MATCHING_RULES[other],
        "size": len(records),
        "success": True,
    }


def _error(rule: dict[str, Any], obj: str, results: list[dict[str, Any]]) -> dict[str, Any]:
    allow = rule["action"] == "allow"
    message = rule.get("alert_text") or (LEGACY_ALERT if allow else ALERT)
    result = {
        "allowSave": allow,
        "duplicateRule": rule["name"],
        "duplicateRuleEntityType": obj,
        "errorMessage": message,
        "matchResults": results,
    }
    return sf_error("DUPLICATES_DETECTED", message, None, duplicateResut=result)

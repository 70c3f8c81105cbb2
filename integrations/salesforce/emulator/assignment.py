"""Lead assignment rules and the ``Sforce-Auto-Assign`` header.

A REST create or update of a Lead runs the org's active assignment rule unless the
request sends ``Sforce-Auto-Assign: FALSE``; ``TRUE`` (or no header) runs the active
rule, and an assignment rule id (``01Q...``) runs that rule, active or not. The rule's
owner wins over an ``OwnerId`` in the payload, as in Salesforce (REST API Developer
Guide, "Assignment Rule Header": "Sforce-Auto-Assign ... If TRUE, or not specified,
active assignment rules are applied").

Rule shape (admin API ``POST /__emulator__/assignment-rules``)::

    {"name": "Inbound routing", "object": "Lead", "active": true,
     "entries": [{"when": {"field": "LeadSource", "op": "equals", "value": "Partner Referral"},
                  "assign_to": "<User or queue Id>"},
                 {"assign_to": "<queue Id>"}]}          # no "when": always matches

Entries are tried in order (Salesforce's sort order); the first whose conditions all
hold assigns. ``when`` takes the validation rules' condition language (rules.py).
"""

from __future__ import annotations

from typing import Any

from .ids import looks_like_id, make_id, to_18
from .responses import RestError, sf_error
from .rules import OPS, holds

_PREFIX = "01Q"  # AssignmentRule key prefix


def normalise_rule(org: Any, rule: dict[str, Any], number: int) -> dict[str, Any]:
    """Check an assignment rule and give it an id; raises ValueError."""
    if org.schema.object_name(str(rule.get("object", "Lead"))) != "Lead":
        raise ValueError("the emulator runs assignment rules on Lead only")
    entries = rule.get("entries")
    if not isinstance(entries, list) or not entries:
        raise ValueError("an assignment rule needs entries")
    checked = []
    for entry in entries:
        owner = entry.get("assign_to")
        if not looks_like_id(owner) or org.schema.object_for_id(owner) not in ("User", "Group"):
            raise ValueError(f"assign_to must be a User or queue id, not {owner!r}")
        conditions = entry.get("when", [])
        conditions = conditions if isinstance(conditions, list) else [conditions]
        for cond in conditions:
            if cond.get("op") not in OPS:
                raise ValueError(f"unknown op {cond.get('op')!r}; known: {sorted(OPS)}")
            if cond["op"] != "always" and org.schema.field("Lead", str(cond.get("field"))) is None:
                raise ValueError(f"unknown field Lead.{cond.get('field')}")
            if cond["op"] != "always":
                cond["field"] = org.schema.field("Lead", cond["field"])["name"]
        checked.append({"when": conditions, "assign_to": to_18(owner)})
    return {
        "id": rule.get("id") or make_id(_PREFIX, 7_000 + number),
        "name": rule.get("name", "Lead assignment"),
        "object": "Lead",
        "active": bool(rule.get("active", True)),
        "entries": checked,
    }


def default_rule(org: Any, queue_id: str, partner_owner: str) -> dict[str, Any]:
    """The lived-in org's active rule: partner referrals to a user, the rest to the queue."""
    rule = {
        "name": "Inbound lead routing",
        "active": True,
        "entries": [
            {
                "when": {"field": "LeadSource", "op": "equals", "value": "Partner Referral"},
                "assign_to": partner_owner,
            },
            {"assign_to": queue_id},
        ],
    }
    return normalise_rule(org, rule, 1)


def rule_to_run(org: Any, header: str | None) -> dict[str, Any] | None:
    """The rule a request runs: None for ``FALSE``; raises 400 for an unknown rule id."""
    value = (header or "").strip()
    if value.upper() == "FALSE":
        return None
    if value and value.upper() != "TRUE":
        wanted = to_18(value) if looks_like_id(value) else value
        for rule in org.assignment_rules:
            if rule["id"] == wanted:
                return rule
        # [inf] Salesforce's text for an unknown rule id is not captured.
        message = f"invalid assignment rule id: {value}"
        raise RestError(400, [sf_error("INVALID_CROSS_REFERENCE_KEY", message, [])])
    return next((rule for rule in org.assignment_rules if rule["active"]), None)


def assign(rule: dict[str, Any] | None, obj: str, record: dict[str, Any]) -> None:
    """Set record's OwnerId from the first matching entry (in place, before it is stored)."""
    if rule is None or obj != rule["object"]:
        return
    for entry in rule["entries"]:
        if all(holds(cond, record) for cond in entry["when"]):
            record["OwnerId"] = entry["assign_to"]
            return

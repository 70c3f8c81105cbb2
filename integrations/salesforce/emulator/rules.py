"""Org-level checks that run after field validation: validation rules and unique fields
(duplicate rules: duplicates.py). Neither is visible in describe (reference §5), so tests
and the demo configure them through the admin API.

Validation rule (an error when its condition holds, like a Salesforce formula)::

    {"name": "Region_Known", "object": "Lead", "message": "Pick a known region",
     "field": "Region__c",                     # optional error display field
     "when": {"field": "Region__c", "op": "not_in", "value": ["EMEA", "AMER"]}}

``when`` may be a list (all must hold). Ops: always, blank, not_blank, equals,
not_equals, in, not_in, contains, regex, not_regex (string compares are case-insensitive
except regex).
"""

from __future__ import annotations

import re
from typing import Any

from .responses import sf_error
from .schema import Schema

OPS = {"always", "blank", "not_blank", "equals", "not_equals", "in", "not_in", "contains"}
OPS |= {"regex", "not_regex"}


def _canonical_field(schema: Schema, obj: str, name: Any) -> str:
    field = schema.field(obj, str(name))
    if field is None:
        raise ValueError(f"unknown field {obj}.{name}")
    return field["name"]


def _canonical_object(schema: Schema, rule: dict[str, Any]) -> str:
    obj = schema.object_name(str(rule.get("object", "")))
    if obj is None:
        raise ValueError(f"unknown object {rule.get('object')!r}")
    return obj


def normalise_validation_rule(schema: Schema, rule: dict[str, Any]) -> dict[str, Any]:
    """Check a rule and return it with canonical names; raises ValueError."""
    obj = _canonical_object(schema, rule)
    if not rule.get("message"):
        raise ValueError("a validation rule needs a message")
    conditions = rule.get("when", {"op": "always"})
    conditions = conditions if isinstance(conditions, list) else [conditions]
    checked = []
    for cond in conditions:
        if cond.get("op") not in OPS:
            raise ValueError(f"unknown op {cond.get('op')!r}; known: {sorted(OPS)}")
        cond = dict(cond)
        if cond["op"] != "always":
            cond["field"] = _canonical_field(schema, obj, cond.get("field"))
        checked.append(cond)
    out = {
        "name": rule.get("name", "Rule"),
        "object": obj,
        "message": rule["message"],
        "when": checked,
    }
    if rule.get("field"):
        out["field"] = _canonical_field(schema, obj, rule["field"])
    return out


def _fold(value: Any) -> Any:
    return value.casefold() if isinstance(value, str) else value


def holds(cond: dict[str, Any], record: dict[str, Any]) -> bool:
    op = cond["op"]
    if op == "always":
        return True
    value = record.get(cond["field"])
    target = cond.get("value")
    if op in ("blank", "not_blank"):
        return (value in (None, "")) == (op == "blank")
    if op in ("regex", "not_regex"):
        found = value is not None and re.search(str(target), str(value)) is not None
        return found == (op == "regex")
    if op in ("in", "not_in"):
        inside = _fold(value) in [_fold(item) for item in target or []]
        return inside == (op == "in")
    if op == "contains":
        return value is not None and _fold(str(target)) in _fold(str(value))
    equal = _fold(value) == _fold(target)
    return equal == (op == "equals")


def check_validation_rules(
    rules: list[dict[str, Any]], obj: str, record: dict[str, Any]
) -> list[dict[str, Any]]:
    """FIELD_CUSTOM_VALIDATION_EXCEPTION for each rule whose condition holds on the
    record as it would be saved (existing values merged with the payload)."""
    errors = []
    for rule in rules:
        if rule["object"] == obj and all(holds(cond, record) for cond in rule["when"]):
            fields = [rule["field"]] if rule.get("field") else []
            errors.append(sf_error("FIELD_CUSTOM_VALIDATION_EXCEPTION", rule["message"], fields))
    return errors


def check_unique(org: Any, obj: str, values: dict[str, Any], self_id: str | None) -> list[dict]:
    """DUPLICATE_VALUE when a unique field's new value is already on another record."""
    for name, value in values.items():
        field = org.schema.field(obj, name)
        if value is None or not field.get("unique"):
            continue
        for other in org.find_by_field(obj, name, value):
            if other["Id"] != self_id:
                message = (
                    f"duplicate value found: {name} duplicates value on record with id: "
                    f"{other['Id']}"
                )
                return [sf_error("DUPLICATE_VALUE", message, [])]
    return []


def check_campaign_member(org: Any, obj: str, record: dict[str, Any]) -> list[dict]:
    """A CampaignMember names a Lead or a Contact, and one person joins a campaign once.

    The second join answers ``[{"message": "Already a campaign member.", "errorCode":
    "DUPLICATE_VALUE"}]`` (captured in public client tests; no ``fields``). The
    missing-person text is not captured [inf].
    """
    if obj != "CampaignMember":
        return []
    person = [name for name in ("LeadId", "ContactId") if record.get(name)]
    if not person:
        message = "Required fields are missing: [LeadId, ContactId]"
        return [sf_error("REQUIRED_FIELD_MISSING", message, ["LeadId", "ContactId"])]
    for other in org.records[obj].lookup(person[0], record[person[0]]):
        if other["Id"] != record["Id"] and other.get("CampaignId") == record.get("CampaignId"):
            return [sf_error("DUPLICATE_VALUE", "Already a campaign member.")]
    return []


def check_owner_active(
    org: Any, obj: str, record: dict[str, Any], previous: dict[str, Any] | None
) -> list[dict]:
    """INACTIVE_OWNER_OR_USER when a save makes an inactive User the owner.

    Text as captured in public client code: "operation performed with inactive user
    [005...] as owner of lead". Keeping an inactive owner that is already there is fine.
    """
    owner = record.get("OwnerId")
    if not owner or (previous is not None and previous.get("OwnerId") == owner):
        return []
    user = org.records["User"].get(owner)
    if user is None or user.get("IsActive", True):
        return []
    message = f"operation performed with inactive user [{owner}] as owner of {obj.lower()}"
    return [sf_error("INACTIVE_OWNER_OR_USER", message, [])]

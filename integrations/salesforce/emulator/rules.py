"""Org-level checks that run after field validation: validation rules, unique fields,
duplicate rules. None of them is visible in describe (reference §5), so tests and the
demo configure them through the admin API.

Validation rule (an error when its condition holds, like a Salesforce formula)::

    {"name": "Region_Known", "object": "Lead", "message": "Pick a known region",
     "field": "Region__c",                     # optional error display field
     "when": {"field": "Region__c", "op": "not_in", "value": ["EMEA", "AMER"]}}

``when`` may be a list (all must hold). Ops: always, blank, not_blank, equals,
not_equals, in, not_in, contains, regex, not_regex (string compares are case-insensitive
except regex).

Duplicate rule::

    {"name": "Lead_Email", "object": "Lead", "match_fields": ["Email"], "allow_save": false}
"""

from __future__ import annotations

import re
from typing import Any

from .responses import sf_error
from .schema import Schema

OPS = {"always", "blank", "not_blank", "equals", "not_equals", "in", "not_in", "contains"}
OPS |= {"regex", "not_regex"}
DUPLICATE_ALERT = (
    "You're creating a duplicate record. We recommend you use an existing record instead."
)
DUPLICATE_BLOCK = "Use one of these records?"


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


def normalise_duplicate_rule(schema: Schema, rule: dict[str, Any]) -> dict[str, Any]:
    """Check a duplicate rule and return it with canonical names; raises ValueError."""
    obj = _canonical_object(schema, rule)
    match_fields = rule.get("match_fields") or []
    if not match_fields:
        raise ValueError("a duplicate rule needs match_fields")
    return {
        "name": rule.get("name", f"Standard_{obj}_Duplicate_Rule"),
        "object": obj,
        "match_fields": [_canonical_field(schema, obj, name) for name in match_fields],
        "allow_save": bool(rule.get("allow_save", False)),
        "matching_rule": rule.get("matching_rule", f"Standard_{obj}_Match_Rule_v1_0"),
    }


def _fold(value: Any) -> Any:
    return value.casefold() if isinstance(value, str) else value


def _holds(cond: dict[str, Any], record: dict[str, Any]) -> bool:
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
        if rule["object"] == obj and all(_holds(cond, record) for cond in rule["when"]):
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


def check_duplicate_rules(
    org: Any, obj: str, record: dict[str, Any], *, allow_save_header: bool, version: str
) -> list[dict[str, Any]]:
    """DUPLICATES_DETECTED with the real body, misspelled ``duplicateResut`` key included.

    A rule with allow_save lets the write through when the client sent
    ``Sforce-Duplicate-Rule-Header: allowSave=true`` (reference §4).
    """
    for rule in org.duplicate_rules:
        if rule["object"] != obj:
            continue
        keys = [_fold(record.get(name)) for name in rule["match_fields"]]
        if any(key in (None, "") for key in keys):
            continue
        matches = [
            other
            for other in org.records[obj].values()
            if other["Id"] != record.get("Id")
            and [_fold(other.get(name)) for name in rule["match_fields"]] == keys
        ]
        if not matches or (rule["allow_save"] and allow_save_header):
            continue
        return [_duplicates_detected(rule, obj, matches, version)]
    return []


def _duplicates_detected(
    rule: dict[str, Any], obj: str, matches: list[dict[str, Any]], version: str
) -> dict[str, Any]:
    message = DUPLICATE_ALERT if rule["allow_save"] else DUPLICATE_BLOCK
    match_records = [
        {
            "additionalInformation": [],
            "fieldDiffs": [],
            "matchConfidence": 100.0,
            "record": {
                "attributes": {
                    "type": obj,
                    "url": f"/services/data/v{version}/sobjects/{obj}/{m['Id']}",
                },
                "Id": m["Id"],
            },
        }
        for m in matches
    ]
    result = {
        "allowSave": rule["allow_save"],
        "duplicateRule": rule["name"],
        "duplicateRuleEntityType": obj,
        "errorMessage": message,
        "matchResults": [
            {
                "entityType": obj,
                "errorMessage": None,
                "matchEngine": "ExactMatchEngine",
                "matchRecords": match_records,
                "rule": rule["matching_rule"],
                "size": len(match_records),
                "success": True,
            }
        ],
    }
    return sf_error("DUPLICATES_DETECTED", message, None, duplicateResut=result)

"""The pre-send check: refuse, with our own clear message, a record Salesforce would refuse.

Checks one built record (``payload.record_build``) against the cached describe without
spending an API call. Problem codes are Salesforce's error codes (REQUIRED_FIELD_MISSING,
STRING_TOO_LONG, ...) so the dashboard groups our refusals with Salesforce's own. What the
describe cannot show (validation rules, duplicate rules) is left to Salesforce.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Any

from .mapping import Code, Problem
from .payload import is_blank
from .schema import (
    PICKLIST_TYPES,
    STRING_TYPES,
    Describe,
    FieldFacts,
    WriteMode,
    fields_by_name,
    required_on_create,
)

# Salesforce accepts a looser address than RFC 5322 allows and a stricter one than
# "contains @": one @, no spaces, a dot in the domain. Anything else is surely refused.
_EMAIL = re.compile(r"^[^@\s]+@[^@\s.]+(\.[^@\s.]+)+$")
_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,3})?(Z|[+-]\d{2}:?\d{2})$")
_TEXT_TYPES = STRING_TYPES | PICKLIST_TYPES | {"reference", "id", "time"}


def record_check(
    describe: Describe, record: dict[str, Any], *, write_mode: WriteMode
) -> list[Problem]:
    """Every reason Salesforce would refuse ``record`` for the described object.

    Returns problems in record order: unknown fields (INVALID_FIELD), fields the user may not
    write in this write mode (INVALID_FIELD_FOR_INSERT_UPDATE), bad values (see
    ``value_problems``), then required-on-create fields without a value
    (REQUIRED_FIELD_MISSING), by label. An empty list means only Salesforce's own rules remain.
    """
    sobject = describe.get("name", "record")
    facts_by_name = fields_by_name(describe)
    problems: list[Problem] = []
    for name, value in record.items():
        if name == "attributes":
            continue
        facts = facts_by_name.get(name)
        if facts is None:
            problems.append(
                Problem(
                    field=name,
                    code=Code.INVALID_FIELD,
                    message=f"{sobject} has no field {name}.",
                    fix="Refresh the Salesforce schema and remap or delete this mapping.",
                )
            )
            continue
        if not facts.insertable(updating=write_mode.updates):
            action = "create and update" if write_mode.updates else "create"
            problems.append(
                Problem(
                    field=name,
                    code=Code.INVALID_FIELD_FOR_INSERT_UPDATE,
                    message=f"{facts.display} is read-only for the connected user on {action}.",
                    fix="Make the field editable for the connected user's profile in "
                    "Salesforce (field-level security), or delete this mapping.",
                )
            )
            continue
        problems.extend(value_problems(facts, value))
    for facts in required_on_create(describe):
        if is_blank(record.get(facts.name)):
            problems.append(
                Problem(
                    field=facts.name,
                    code=Code.REQUIRED_FIELD_MISSING,
                    message=f"{facts.display} is required to create a {sobject} "
                    "but the record has no value for it.",
                    fix="Map it to a required question, a booking fact or a constant.",
                )
            )
    return problems


def value_problems(facts: FieldFacts, value: Any) -> list[Problem]:
    """Why Salesforce would refuse ``value`` (a wire value) for the field; [] if it would not.

    None is no value here; whether the field needs one is ``record_check``'s business.
    """
    if value is None:
        return []
    if facts.type in _TEXT_TYPES:
        if not isinstance(value, str):
            return [_wrong_type(facts, value)]
        return _text_problems(facts, value)
    if facts.type == "boolean":
        return [] if isinstance(value, bool) else [_wrong_type(facts, value)]
    if facts.type in ("int", "double", "currency", "percent"):
        if isinstance(value, bool) or not isinstance(value, int | float):
            return [_wrong_type(facts, value)]
        return _range_problems(facts, value)
    if facts.type == "date":
        return [] if _is_iso_date(value) else [_wrong_type(facts, value)]
    if facts.type == "datetime":
        return [] if _is_sf_datetime(value) else [_wrong_type(facts, value)]
    return []


def _text_problems(facts: FieldFacts, value: str) -> list[Problem]:
    problems = []
    # Picklists are length-checked too: an unrestricted one stores any text up to its length.
    if facts.type in STRING_TYPES | PICKLIST_TYPES and 0 < facts.length < len(value):
        problems.append(
            Problem(
                field=facts.name,
                code=Code.STRING_TOO_LONG,
                message=f"{facts.display}: {len(value)} characters is longer than the "
                f"field's maximum of {facts.length}.",
                fix=f"Limit the source to {facts.length} characters, or accept truncation "
                "on this mapping.",
            )
        )
    if facts.type == "email" and not _EMAIL.match(value):
        problems.append(
            Problem(
                field=facts.name,
                code=Code.INVALID_EMAIL_ADDRESS,
                message=f"{facts.display}: invalid email address: {value}",
                fix="Feed this field from an email question or the guest's email.",
            )
        )
    if facts.restricted_picklist:
        chosen = value.split(";") if facts.type == "multipicklist" else [value]
        bad = [item for item in chosen if item not in facts.picklist_value_set]
        if bad:
            allowed = ", ".join(v.value for v in facts.picklist_values)
            problems.append(
                Problem(
                    field=facts.name,
                    code=Code.INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST,
                    message=f"{facts.display}: bad value for restricted picklist field: "
                    f"{', '.join(bad)}",
                    fix=f"Send one of: {allowed}. Align the question's choices with the "
                    "picklist, or add the value in Salesforce.",
                )
            )
    return problems


def _range_problems(facts: FieldFacts, value: int | float) -> list[Problem]:
    if facts.type == "int":
        limit = 10**facts.digits if facts.digits else None
        if not isinstance(value, int):
            return [_wrong_type(facts, value)]
    else:
        whole_digits = facts.precision - facts.scale
        limit = 10**whole_digits if facts.precision else None
    if limit is None or abs(value) < limit:
        return []
    return [
        Problem(
            field=facts.name,
            code=Code.NUMBER_OUTSIDE_VALID_RANGE,
            message=f"{facts.display}: {value} has more digits than the field allows "
            f"(below {limit}).",
            fix="Limit the question's range, or use a wider Salesforce field.",
        )
    ]


def _wrong_type(facts: FieldFacts, value: Any) -> Problem:
    return Problem(
        field=facts.name,
        code=Code.INVALID_TYPE_ON_FIELD_IN_RECORD,
        message=f"{facts.display}: value not of required type {facts.type}: {value!r}",
        fix=f"Feed this {facts.type} field from a source of a matching kind.",
    )


def _is_iso_date(value: Any) -> bool:
    if not isinstance(value, str) or len(value) != 10:
        return False
    try:
        date.fromisoformat(value)
    except ValueError:
        return False
    return True


def _is_sf_datetime(value: Any) -> bool:
    if not isinstance(value, str) or not _DATETIME.match(value):
        return False
    try:
        datetime.fromisoformat(value)
    except ValueError:
        return False
    return True

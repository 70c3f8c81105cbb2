"""Field-level validation of a create/update payload against the object's describe.

Checks run in Salesforce's order and each phase stops the write (reference §4):
1. unknown field -> INVALID_FIELD (no ``fields`` key);
2. wrong JSON type -> JSON_PARSER_ERROR (see ``_coerce``);
3. non-createable / non-updateable -> INVALID_FIELD_FOR_INSERT_UPDATE;
4. required on create missing or blank -> REQUIRED_FIELD_MISSING;
5. per-value checks (id shape, length, restricted picklist, email), all reported together.
Rules (validation and duplicate rules) and uniqueness run later, in ``rules.py``.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from typing import Any

from .ids import looks_like_id
from .responses import sf_error
from .schema import Schema

STRINGISH = {
    "string",
    "textarea",
    "email",
    "phone",
    "url",
    "picklist",
    "multipicklist",
    "combobox",
    "reference",
    "id",
    "encryptedstring",
}
NUMERIC = {"int", "double", "currency", "percent"}
# Deliberately loose, like Salesforce's own check: something@something.tld.
EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s.]+$")
DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
DATETIME_RE = re.compile(
    r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})?$"
)


class ParseError(Exception):
    """A value whose JSON type the field cannot take."""


def is_required_on_create(field: dict[str, Any]) -> bool:
    """createable, not nillable, not defaulted; booleans skipped (reference §5)."""
    return (
        field["createable"]
        and not field["nillable"]
        and not field["defaultedOnCreate"]
        and field["type"] != "boolean"
    )


def _json_token(value: Any) -> str:
    if isinstance(value, bool):
        return "VALUE_TRUE" if value else "VALUE_FALSE"
    if isinstance(value, int):
        return "VALUE_NUMBER_INT"
    if isinstance(value, float):
        return "VALUE_NUMBER_FLOAT"
    if isinstance(value, list):
        return "START_ARRAY"
    if isinstance(value, dict):
        return "START_OBJECT"
    return "VALUE_STRING"


def parser_error(field_type: str, value: Any) -> dict[str, Any]:
    """Salesforce's deserialiser error for a value of the wrong JSON type.

    Chosen shape: JSON_PARSER_ERROR, 400, no ``fields`` (the deserialiser fails before
    field-level validation). Real messages end with " at [line:1, column:N]"; the
    position is left out here because nothing should parse it.
    """
    message = (
        f"Cannot deserialize instance of {field_type} from {_json_token(value)} value "
        f"{value} or request may be missing a required field"
    )
    return sf_error("JSON_PARSER_ERROR", message)


def _coerce_datetime(value: str) -> str:
    if not DATETIME_RE.match(value):
        raise ParseError
    text = value.replace("Z", "+00:00")
    if re.search(r"[+-]\d{4}$", text):
        text = text[:-2] + ":" + text[-2:]
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise ParseError from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}+0000"


def _coerce(field: dict[str, Any], value: Any) -> Any:
    """Return the stored form of value or raise ParseError. Blank strings become None."""
    kind = field["type"]
    if value is None:
        return None
    if kind == "boolean":
        if isinstance(value, str) and value.lower() in ("true", "false"):
            return value.lower() == "true"
        if not isinstance(value, bool):
            raise ParseError
        return value
    if kind in NUMERIC:
        if isinstance(value, (bool, list, dict)):
            raise ParseError
        try:
            number = float(value)
        except (TypeError, ValueError):
            raise ParseError from None
        if kind == "int":
            if not number.is_integer():
                raise ParseError
            return int(number)
        return number
    if kind == "multipicklist" and isinstance(value, list):
        if not all(isinstance(item, str) for item in value):
            raise ParseError
        value = ";".join(value)
    if isinstance(value, (list, dict)):
        raise ParseError
    text = ("true" if value else "false") if isinstance(value, bool) else str(value)
    if text == "":
        return None
    if kind == "date":
        if not DATE_RE.match(text):
            raise ParseError
        try:
            date.fromisoformat(text)
        except ValueError:
            raise ParseError from None
    elif kind == "datetime":
        return _coerce_datetime(text)
    return text


def parse_payload(
    schema: Schema, obj: str, payload: dict[str, Any], *, creating: bool
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Phases 1-3: map names to describes and coerce types.

    Returns ``(values, errors)``: values keyed by canonical field name, or errors.
    """
    values: dict[str, Any] = {}
    not_writable: list[str] = []
    for key, raw in payload.items():
        if key == "attributes":
            continue
        field = schema.field(obj, key)
        if field is None:
            return {}, [
                sf_error("INVALID_FIELD", f"No such column '{key}' on sobject of type {obj}")
            ]
        if field["name"] == "Id":
            if creating:
                msg = "cannot specify Id in an insert call"
                return {}, [sf_error("INVALID_FIELD", msg, ["Id"])]
            continue  # Salesforce ignores the Id in an update body; the URL wins.
        try:
            values[field["name"]] = _coerce(field, raw)
        except ParseError:
            return {}, [parser_error(field["soapType"].split(":")[-1], raw)]
        if not field["createable" if creating else "updateable"]:
            not_writable.append(field["name"])
    if not_writable:
        message = (
            f"Unable to create/update fields: {', '.join(not_writable)}. Please check the "
            "security settings of this field and verify that it is read/write for your "
            "profile or permission set."
        )
        return {}, [sf_error("INVALID_FIELD_FOR_INSERT_UPDATE", message, not_writable)]
    return values, []


def check_required(
    schema: Schema, obj: str, values: dict[str, Any], *, creating: bool
) -> list[dict[str, Any]]:
    """Phase 4. On update only fields the payload blanks out can be missing."""
    missing = []
    for field in schema.fields(obj):
        if not is_required_on_create(field):
            continue
        name = field["name"]
        if (creating and values.get(name) is None) or (name in values and values[name] is None):
            missing.append(name)
    if not missing:
        return []
    return [
        sf_error(
            "REQUIRED_FIELD_MISSING",
            f"Required fields are missing: [{', '.join(missing)}]",
            missing,
        )
    ]


def check_values(schema: Schema, obj: str, values: dict[str, Any]) -> list[dict[str, Any]]:
    """Phase 5: every bad value is reported, in payload order."""
    errors = []
    for name, value in values.items():
        if value is None:
            continue
        error = _check_value(schema.field(obj, name), value)
        if error:
            errors.append(error)
    return errors


def _check_value(field: dict[str, Any], value: Any) -> dict[str, Any] | None:
    name, label, kind = field["name"], field["label"], field["type"]
    if kind == "reference" and not looks_like_id(value):
        return sf_error("MALFORMED_ID", f"{label}: id value of incorrect type: {value}", [name])
    if kind in STRINGISH and field.get("length") and len(value) > field["length"]:
        message = f"{label}: data value too large: {value} (max length={field['length']})"
        return sf_error("STRING_TOO_LONG", message, [name])
    if kind in ("picklist", "multipicklist") and field.get("restrictedPicklist"):
        active = {pv["value"] for pv in field.get("picklistValues", []) if pv.get("active")}
        chosen = value.split(";") if kind == "multipicklist" else [value]
        bad = [item for item in chosen if item not in active]
        if bad:
            message = f"{label}: bad value for restricted picklist field: {bad[0]}"
            return sf_error("INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST", message, [name])
    if kind == "email" and not EMAIL_RE.match(value):
        # Exact text not captured (reference §4 [inf]).
        return sf_error("INVALID_EMAIL_ADDRESS", f"{label}: invalid email address: {value}", [name])
    return None

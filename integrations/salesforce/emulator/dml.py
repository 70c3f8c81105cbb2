"""Writes to the org's records: create, update, upsert, delete, with an undo log.

A ``Writer`` is used under ``org.lock`` for one request. Single-record endpoints write
straight through; sObject Collections with allOrNone call ``rollback()`` when any record
failed, so no other request ever sees the partial state.
"""

from __future__ import annotations

import copy
from typing import Any

from . import rules, validation
from .org import Org, sf_timestamp
from .responses import RestError, not_found, sf_error

# Lead/Contact "Name" is a compound of FirstName + LastName (describe extraTypeInfo personname).
_PERSON_NAME_PARTS = ("FirstName", "LastName")


class Writer:
    """Validated DML on one org. Methods raise RestError(400, errors) on a failed record."""

    def __init__(self, org: Org, *, version: str, allow_save: bool = False) -> None:
        self.org = org
        self.version = version
        self.allow_save = allow_save
        self._undo: list[tuple[str, str, dict[str, Any] | None]] = []

    # -- public operations ---------------------------------------------------------------

    def create(self, obj: str, payload: dict[str, Any]) -> str:
        """Insert a record; returns its new Id."""
        values = self._validated(obj, payload, existing=None)
        record = self._defaults(obj)
        record.update({k: v for k, v in values.items() if v is not None})
        record["Id"] = self.org.new_id(obj)
        self._finish(obj, record)
        self._check_after_merge(obj, record, values)
        self._undo.append((obj, record["Id"], None))
        self.org.records[obj][record["Id"]] = record
        return record["Id"]

    def update(self, obj: str, record_id: str, payload: dict[str, Any]) -> None:
        """Update an existing record by Id; 404 NOT_FOUND when there is none."""
        existing = self.org.records[obj].get(record_id)
        if existing is None:
            raise not_found()
        values = self._validated(obj, payload, existing=existing)
        record = dict(existing)
        record.update(values)
        record = {k: v for k, v in record.items() if v is not None}
        record["LastModifiedDate"] = record["SystemModstamp"] = sf_timestamp(self.org.now())
        self._finish(obj, record)
        self._check_after_merge(obj, record, values)
        self._undo.append((obj, record_id, existing))
        self.org.records[obj][record_id] = record

    def upsert(
        self, obj: str, ext_field: str, value: str, payload: dict[str, Any], update_only=False
    ) -> tuple[str, bool]:
        """Upsert by external id; returns ``(id, created)``.

        Raises RestError 300 (list of URLs) when several records match, 404 when
        update_only and nothing matches (reference §3).
        """
        matches = self.org.find_by_field(obj, ext_field, value)
        if len(matches) > 1:
            urls = [self.record_url(obj, match["Id"]) for match in matches]
            raise RestError(300, urls)  # type: ignore[arg-type]  # body is a list of URLs
        body = {k: v for k, v in payload.items() if k.lower() != ext_field.lower()}
        if matches:
            self.update(obj, matches[0]["Id"], body)
            return matches[0]["Id"], False
        if update_only:
            raise not_found()
        body[ext_field] = value
        return self.create(obj, body), True

    def delete(self, obj: str, record_id: str) -> None:
        existing = self.org.records[obj].pop(record_id, None)
        if existing is None:
            raise not_found()
        self._undo.append((obj, record_id, existing))

    def rollback(self) -> None:
        """Undo every write this Writer made, newest first."""
        for obj, record_id, previous in reversed(self._undo):
            if previous is None:
                self.org.records[obj].pop(record_id, None)
            else:
                self.org.records[obj][record_id] = previous
        self._undo.clear()

    def record_url(self, obj: str, record_id: str) -> str:
        return f"/services/data/v{self.version}/sobjects/{obj}/{record_id}"

    # -- internals -------------------------------------------------------------------------

    def _validated(self, obj: str, payload: Any, existing: dict[str, Any] | None) -> dict[str, Any]:
        if not isinstance(payload, dict):
            raise RestError(400, [sf_error("JSON_PARSER_ERROR", "Expected a JSON object")])
        schema, creating = self.org.schema, existing is None
        values, errors = validation.parse_payload(schema, obj, payload, creating=creating)
        errors = errors or validation.check_required(schema, obj, values, creating=creating)
        errors = errors or validation.check_values(schema, obj, values)
        if errors:
            raise RestError(400, errors)
        return values

    def _check_after_merge(self, obj: str, record: dict[str, Any], values: dict) -> None:
        """Validation rules, then unique values, then duplicate rules (Salesforce's order)."""
        rules_for_obj = self.org.validation_rules
        errors = rules.check_validation_rules(rules_for_obj, obj, record)
        errors = errors or rules.check_unique(self.org, obj, values, record["Id"])
        errors = errors or rules.check_duplicate_rules(
            self.org, obj, record, allow_save_header=self.allow_save, version=self.version
        )
        if errors:
            raise RestError(400, errors)

    def _defaults(self, obj: str) -> dict[str, Any]:
        """System fields and describe defaults a new record gets."""
        now = sf_timestamp(self.org.now())
        record: dict[str, Any] = {}
        for field in self.org.schema.fields(obj):
            default = _default_value(field)
            if default is not None:
                record[field["name"]] = default
        system = {
            "IsDeleted": False,
            "OwnerId": self.org.user_id,
            "CreatedById": self.org.user_id,
            "LastModifiedById": self.org.user_id,
            "CreatedDate": now,
            "LastModifiedDate": now,
            "SystemModstamp": now,
        }
        for name, value in system.items():
            if self.org.schema.field(obj, name) is not None:
                record[name] = value
        return record

    def _finish(self, obj: str, record: dict[str, Any]) -> None:
        """Recompute derived fields (the person Name of Lead/Contact)."""
        name_field = self.org.schema.field(obj, "Name")
        if name_field and name_field.get("extraTypeInfo") == "personname":
            parts = [record.get(part) for part in _PERSON_NAME_PARTS]
            record["Name"] = " ".join(p for p in parts if p)


def _default_value(field: dict[str, Any]) -> Any:
    if not field.get("defaultedOnCreate") or not field.get("createable"):
        return None
    if field["type"] == "boolean":
        return bool(field.get("defaultValue"))
    for option in field.get("picklistValues") or []:
        if option.get("defaultValue") and option.get("active"):
            return option["value"]
    default = field.get("defaultValue")
    return copy.deepcopy(default) if default is not None and field["type"] != "reference" else None

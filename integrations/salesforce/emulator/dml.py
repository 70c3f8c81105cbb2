"""Writes to the org's records: create, update, upsert, delete, with an undo log.

A ``Writer`` is used under ``org.lock`` for one request. Single-record endpoints write
straight through; sObject Collections and composite with allOrNone call ``rollback()``
when any record failed, so no other request ever sees the partial state.

Order of a save, as Salesforce runs it: field validation (validation.py) -> derived
fields -> Lead assignment rule (assignment.py) -> validation rules -> unique fields ->
duplicate rules (duplicates.py).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from . import assignment, duplicates, rules, validation
from .org import Org, sf_timestamp
from .responses import RestError, not_found, sf_error
from .store import derive_fields, fold, system_fields

_SF_STAMP = "%Y-%m-%dT%H:%M:%S.%f%z"


class Writer:
    """Validated DML on one org. Methods raise RestError(400, errors) on a failed record.

    ``duplicate_header``: flags of ``Sforce-Duplicate-Rule-Header`` (duplicates.parse_header);
    ``auto_assign``: the raw ``Sforce-Auto-Assign`` header value (None when absent).
    """

    def __init__(
        self,
        org: Org,
        *,
        version: str,
        duplicate_header: dict[str, bool] | None = None,
        auto_assign: str | None = None,
    ) -> None:
        self.org = org
        self.version = version
        self.duplicate_header = duplicate_header or duplicates.parse_header("")
        self.auto_assign = auto_assign
        self._undo: list[tuple[str, str, dict[str, Any] | None, dict[str, Any] | None]] = []
        self._counted: list[tuple[tuple[str, str, str], bool]] = []

    # -- public operations ---------------------------------------------------------------

    def create(self, obj: str, payload: dict[str, Any]) -> str:
        """Insert a record; returns its new Id."""
        values = self._validated(obj, payload, existing=None)
        now = sf_timestamp(self.org.now())
        record = system_fields(self.org.schema, obj, now=now, user_id=self.org.user_id)
        record.update({k: v for k, v in values.items() if v is not None})
        record["Id"] = self.org.new_id(obj)
        self._finish(obj, record, values)
        self._check_after_merge(obj, record, values, previous=None)
        self._undo.append((obj, record["Id"], None, None))
        self.org.records[obj][record["Id"]] = record
        self._count(obj, record, created=True)
        return record["Id"]

    def update(self, obj: str, record_id: str, payload: dict[str, Any]) -> None:
        """Update an existing record by Id; 404 NOT_FOUND when there is none."""
        existing = self.org.records[obj].get(record_id)
        if existing is None:
            if record_id in self.org.deleted[obj]:
                raise RestError(404, [sf_error("ENTITY_IS_DELETED", "entity is deleted", [])])
            raise not_found()
        values = self._validated(obj, payload, existing=existing)
        record = dict(existing)
        record.update(values)
        record = {k: v for k, v in record.items() if v is not None}
        record["LastModifiedDate"] = record["SystemModstamp"] = sf_timestamp(self.org.now())
        self._finish(obj, record, values)
        self._check_after_merge(obj, record, values, previous=existing)
        self._undo.append((obj, record_id, existing, None))
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
            self._count(obj, self.org.records[obj][matches[0]["Id"]], created=False)
            return matches[0]["Id"], False
        if update_only:
            raise not_found()
        body[ext_field] = value
        return self.create(obj, body), True

    def delete(self, obj: str, record_id: str) -> None:
        """Delete into the recycle bin (queryAll still sees it); 404 when absent."""
        existing = self.org.records[obj].pop(record_id, None)
        if existing is None:
            if record_id in self.org.deleted[obj]:
                raise RestError(404, [sf_error("ENTITY_IS_DELETED", "entity is deleted", [])])
            raise not_found()
        binned = dict(existing, IsDeleted=True)
        self.org.deleted[obj][record_id] = binned
        self._undo.append((obj, record_id, existing, binned))

    def rollback(self) -> None:
        """Undo every write this Writer made, newest first (write counts included)."""
        for obj, record_id, previous, binned in reversed(self._undo):
            if binned is not None:
                self.org.deleted[obj].pop(record_id, None)
            if previous is None:
                self.org.records[obj].pop(record_id, None)
            else:
                self.org.records[obj][record_id] = previous
        for key, created in self._counted:
            self.org.ext_writes[key] -= 1
            if created:
                self.org.ext_creates[key] -= 1
        self.org.ext_writes += {}  # drop the zero counts
        self.org.ext_creates += {}
        self._undo.clear()
        self._counted.clear()

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

    def _check_after_merge(
        self, obj: str, record: dict[str, Any], values: dict, previous: dict | None
    ) -> None:
        """Owner, validation rules, unique values, then duplicate rules (Salesforce's order)."""
        errors = rules.check_owner_active(self.org, obj, record, previous)
        errors = errors or rules.check_validation_rules(self.org.validation_rules, obj, record)
        errors = errors or rules.check_unique(self.org, obj, values, record["Id"])
        errors = errors or rules.check_campaign_member(self.org, obj, record)
        errors = errors or duplicates.check(
            self.org, obj, record, header=self.duplicate_header, version=self.version
        )
        if errors:
            raise RestError(400, errors)

    def _finish(self, obj: str, record: dict[str, Any], values: dict[str, Any]) -> None:
        """Derived fields, Event times, then the Lead assignment rule."""
        derive_fields(self.org.schema, obj, record)
        if obj == "Event":
            _event_times(record, values)
        if obj == "Lead":
            assignment.assign(assignment.rule_to_run(self.org, self.auto_assign), obj, record)

    def _count(self, obj: str, record: dict[str, Any], *, created: bool) -> None:
        """Count a create/upsert write per external-id value (GET /__emulator__/writes)."""
        for field in self.org.schema.fields(obj):
            value = record.get(field["name"])
            if field.get("externalId") and value not in (None, ""):
                key = (obj, field["name"], str(fold(value)))
                self.org.ext_writes[key] += 1
                if created:
                    self.org.ext_creates[key] += 1
                self._counted.append((key, created))


def _parse_stamp(value: str) -> datetime:
    return datetime.strptime(value, _SF_STAMP)


def _event_times(record: dict[str, Any], values: dict[str, Any]) -> None:
    """Keep an Event's time fields consistent, as Salesforce derives them.

    StartDateTime mirrors ActivityDateTime; EndDateTime and DurationInMinutes are
    computed from each other; ActivityDate is the start's date. Raises
    REQUIRED_FIELD_MISSING when no start is given on a timed event [inf: exact text not
    captured; Object Reference "Event": ActivityDateTime or StartDateTime is required].
    """
    start = values.get("StartDateTime") or values.get("ActivityDateTime")
    start = start or record.get("StartDateTime") or record.get("ActivityDateTime")
    if start is None:
        if record.get("IsAllDayEvent") and record.get("ActivityDate"):
            return
        raise RestError(
            400,
            [
                sf_error(
                    "REQUIRED_FIELD_MISSING",
                    "Required fields are missing: [ActivityDateTime]",
                    ["ActivityDateTime"],
                )
            ],
        )
    begin = _parse_stamp(start)
    record["StartDateTime"] = record["ActivityDateTime"] = start
    record["ActivityDate"] = begin.date().isoformat()
    # A new end sets the duration; otherwise the duration holds and the end follows the
    # start (moving a meeting keeps its length).
    has_duration = record.get("DurationInMinutes") is not None
    if record.get("EndDateTime") and ("EndDateTime" in values or not has_duration):
        end = _parse_stamp(record["EndDateTime"])
        if end < begin:
            message = "End Date/Time: End time can't be before start time"  # [inf]
            raise RestError(400, [sf_error("FIELD_INTEGRITY_EXCEPTION", message, ["EndDateTime"])])
        record["DurationInMinutes"] = int((end - begin).total_seconds() // 60)
    elif has_duration:
        end = begin + timedelta(minutes=int(record["DurationInMinutes"]))
        record["EndDateTime"] = sf_timestamp(end.timestamp())
    record["EndDate"] = (
        _parse_stamp(record["EndDateTime"]).date().isoformat()
        if record.get("EndDateTime")
        else None
    )

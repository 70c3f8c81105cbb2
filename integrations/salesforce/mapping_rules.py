"""Checks the mapping admin runs on save, and the daily re-check runs against a fresh schema.

Pure functions over a describe dict and ``MappingSpec``s, returning ``Problem``s that name
the Salesforce field and the fix. Errors make the admin refuse the mappings; warnings are
shown but saved. Rule 5 (required fields need never-blank sources) and rule 6 (only
insertable fields) are enforced here; rule 7 (URL parameters) in part here, in part in
``payload.url_param_value``.
"""

from __future__ import annotations

from collections.abc import Sequence

from .mapping import (
    BOOKING_FACTS,
    CHECKBOX,
    CHOICE,
    DATE,
    DATETIME,
    EMAIL,
    MULTICHOICE,
    NUMBER,
    PHONE,
    SOURCE_TYPES,
    TEXT,
    TEXTAREA,
    URL,
    Code,
    MappingSpec,
    Problem,
    Severity,
    SourceKind,
    mapping_never_blank,
)
from .payload import wire_value
from .record_check import value_problems
from .schema import (
    NUMBER_TYPES,
    STRING_TYPES,
    Describe,
    FieldFacts,
    WriteMode,
    fields_by_name,
    required_on_create,
)

_TEXT_FIELDS = frozenset({"string", "textarea", "encryptedstring", "combobox"})
# Which field types each source type may feed. Constants are checked by value instead.
SOURCE_ACCEPTS: dict[str, frozenset[str]] = {
    TEXT: _TEXT_FIELDS | {"phone", "url", "reference", "picklist"},
    TEXTAREA: _TEXT_FIELDS,
    EMAIL: _TEXT_FIELDS | {"email"},
    PHONE: _TEXT_FIELDS | {"phone"},
    URL: _TEXT_FIELDS | {"url"},
    DATE: _TEXT_FIELDS | {"date", "datetime"},
    DATETIME: _TEXT_FIELDS | {"datetime", "date"},
    NUMBER: _TEXT_FIELDS | NUMBER_TYPES,
    CHECKBOX: _TEXT_FIELDS | {"boolean"},
    CHOICE: _TEXT_FIELDS | {"picklist", "multipicklist"},
    MULTICHOICE: _TEXT_FIELDS | {"multipicklist"},
}
# Longest text a fixed-format source renders to (SF datetime: 2024-05-01T14:30:00.000+0000).
_RENDERED_LENGTH = {DATE: 10, DATETIME: 28, CHECKBOX: 5}
# Problems that come from the schema, not from the mappings alone: what drift reports.
SCHEMA_CODES = frozenset(Code) - {
    Code.DUPLICATE_MAPPING,
    Code.UNKNOWN_SOURCE,
    Code.URL_PARAM_KEY_MISMATCH,
}


def mapping_problems(
    describe: Describe, mappings: Sequence[MappingSpec], *, write_mode: WriteMode
) -> list[Problem]:
    """Everything wrong with one page's mappings to the described object.

    Per mapping, in order: unknown source, duplicate target, URL key (rule 7), unknown or
    non-writable field (rule 6), source kind vs field type, picklist values, length; then
    rule 5: every required-on-create field unmapped or fed by a source that may be blank.
    Returns [] when the mappings may be saved without remark.
    """
    facts_by_name = fields_by_name(describe)
    problems: list[Problem] = []
    seen: set[str] = set()
    for spec in mappings:
        problems.extend(_spec_problems(spec))
        if spec.sf_field in seen:
            problems.append(
                Problem(
                    field=spec.sf_field,
                    code=Code.DUPLICATE_MAPPING,
                    message=f"{spec.sf_field} is mapped more than once.",
                    fix="Keep one mapping for this field and delete the others.",
                )
            )
        seen.add(spec.sf_field)
        facts = facts_by_name.get(spec.sf_field)
        field_problem = _field_problem(describe, facts, spec, write_mode)
        if field_problem:
            problems.append(field_problem)
        elif facts is not None:
            problems.extend(source_compatibility(facts, spec))
    problems.extend(_required_problems(describe, mappings))
    return problems


def mapping_drift(
    describe: Describe,
    mappings: Sequence[MappingSpec],
    *,
    write_mode: WriteMode,
    previous: Describe | None = None,
) -> list[Problem]:
    """Problems the schema causes for already-saved mappings (the daily re-check).

    Reports deleted fields, fields no longer createable/updateable, picklist values gone,
    fields that became required and are unmapped or fed by a maybe-blank source, shorter
    lengths and changed types. With ``previous`` (the describe the mappings were saved
    against), only problems that describe did not already cause are returned.
    """
    found = [
        p
        for p in mapping_problems(describe, mappings, write_mode=write_mode)
        if p.code in SCHEMA_CODES
    ]
    if previous is None:
        return found
    known = {
        (p.field, p.code, p.severity)
        for p in mapping_problems(previous, mappings, write_mode=write_mode)
    }
    return [p for p in found if (p.field, p.code, p.severity) not in known]


def _unlisted_constant(facts: FieldFacts, spec: MappingSpec) -> list[Problem]:
    """A constant for an unrestricted picklist that is none of its active values: Salesforce
    takes it (restricted ones are refused by value_problems), but it is almost always a
    typo that splits the sales team's reports ("Webb" beside "Web")."""
    values = (
        [v.strip() for v in spec.constant_value.split(";")]
        if facts.type == "multipicklist"
        else [spec.constant_value.strip()]
    )
    unlisted = [v for v in values if v and v not in facts.picklist_value_set]
    if not unlisted:
        return []
    allowed = ", ".join(sorted(facts.picklist_value_set)) or "none"
    return [
        Problem(
            field=facts.name,
            code=Code.PICKLIST_VALUE_UNKNOWN,
            message=f"{_join_quoted(unlisted)} is not an active value of {facts.display}.",
            fix=f"Choose one of: {allowed} (or add the value in Salesforce first).",
            severity=Severity.WARNING,
        )
    ]


def _join_quoted(values: list[str]) -> str:
    return ", ".join(f"“{v}”" for v in values)


def source_compatibility(facts: FieldFacts, spec: MappingSpec) -> list[Problem]:
    """Whether the mapping's source can feed this (existing, writable) field.

    A constant is converted as it would be sent and checked like a sent value. Other
    sources are checked by type (``SOURCE_ACCEPTS``), picklist values and maximum length.
    """
    if spec.source_kind is SourceKind.CONSTANT:
        problems = value_problems(facts, wire_value(facts, spec.constant_value))
        if not problems and facts.type in ("picklist", "multipicklist"):
            problems = _unlisted_constant(facts, spec)
        return problems
    source_type = spec.effective_source_type
    accepted = SOURCE_ACCEPTS.get(source_type, frozenset())
    if facts.type not in accepted:
        kinds = ", ".join(sorted(t for t, fits in SOURCE_ACCEPTS.items() if facts.type in fits))
        return [
            Problem(
                field=facts.name,
                code=Code.INCOMPATIBLE_SOURCE,
                message=f"{facts.display} is a {facts.type} field; {spec.source_display} "
                f"gives {source_type or 'unknown'} values.",
                fix=f"Feed it from a source of kind: {kinds}, or a constant."
                if kinds
                else "Feed it from a constant, or choose another field.",
            )
        ]
    if facts.type in ("picklist", "multipicklist"):
        return _picklist_problems(facts, spec, source_type)
    if facts.type in STRING_TYPES:
        return _length_problems(facts, spec, source_type)
    return []


def _spec_problems(spec: MappingSpec) -> list[Problem]:
    def problem(code: Code, message: str, fix: str) -> Problem:
        return Problem(field=spec.sf_field, code=code, message=message, fix=fix)

    if spec.source_kind is SourceKind.URL_PARAM and spec.source_key not in ("", spec.sf_field):
        return [
            problem(
                Code.URL_PARAM_KEY_MISMATCH,
                f"A URL parameter mapping to {spec.sf_field} posts only the parameter named "
                f'exactly "{spec.sf_field}"; "{spec.source_key}" is never posted.',
                f"Clear the key (or set it to {spec.sf_field}) and have booking links carry "
                f"?{spec.sf_field}=...",
            )
        ]
    if spec.source_kind is SourceKind.BOOKING and spec.source_key not in BOOKING_FACTS:
        return [
            problem(
                Code.UNKNOWN_SOURCE,
                f'{spec.sf_field} is fed by an unknown booking fact "{spec.source_key}".',
                f"Choose one of: {', '.join(BOOKING_FACTS)}.",
            )
        ]
    if spec.source_kind is SourceKind.QUESTION and (
        not spec.source_key or spec.source_type not in SOURCE_TYPES
    ):
        return [
            problem(
                Code.UNKNOWN_SOURCE,
                f"{spec.sf_field} is fed by a question that does not exist "
                f'("{spec.source_key}", kind "{spec.source_type}").',
                "Choose an existing question of this booking page.",
            )
        ]
    return []


def _field_problem(
    describe: Describe, facts: FieldFacts | None, spec: MappingSpec, write_mode: WriteMode
) -> Problem | None:
    sobject = describe.get("name", "the object")
    if facts is None:
        return Problem(
            field=spec.sf_field,
            code=Code.INVALID_FIELD,
            message=f"{sobject} has no field {spec.sf_field} (deleted or renamed in Salesforce).",
            fix="Refresh the Salesforce schema, then remap this source or delete the mapping.",
        )
    if facts.insertable(updating=write_mode.updates):
        return None
    if facts.calculated or facts.auto_number:
        why = "is computed by Salesforce (formula or auto-number)"
    elif not facts.createable:
        why = "cannot be set on create by the connected user"
    else:
        why = "cannot be updated by the connected user, and this page's records are upserted"
    return Problem(
        field=facts.name,
        code=Code.INVALID_FIELD_FOR_INSERT_UPDATE,
        message=f"{facts.display} {why}.",
        fix="Delete this mapping, or make the field editable for the connected user's "
        "profile in Salesforce (field-level security).",
    )


def _picklist_problems(facts: FieldFacts, spec: MappingSpec, source_type: str) -> list[Problem]:
    allowed = ", ".join(v.value for v in facts.picklist_values) or "(none)"
    if source_type not in (CHOICE, MULTICHOICE):  # free text into a picklist
        if not facts.restricted_picklist:
            return []
        url = spec.source_kind is SourceKind.URL_PARAM
        return [
            Problem(
                field=facts.name,
                code=Code.INCOMPATIBLE_SOURCE,
                message=f"{facts.display} is a restricted picklist; {spec.source_display} "
                "may carry any text.",
                fix=f"Make sure booking links carry only: {allowed}."
                if url
                else f"Feed it from a choice question or a constant with one of: {allowed}.",
                severity=Severity.WARNING if url else Severity.ERROR,
            )
        ]
    missing = [c for c in spec.source_choices if facts.picklist_value_for(c) is None]
    if not missing:
        return []
    code, severity, effect = (
        (Code.INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST, Severity.ERROR, "Salesforce refuses them")
        if facts.restricted_picklist
        else (Code.PICKLIST_VALUE_UNKNOWN, Severity.WARNING, "they are stored but not listed")
    )
    return [
        Problem(
            field=facts.name,
            code=code,
            message=f"{facts.display} has no active value for choice(s) "
            f"{', '.join(missing)} of {spec.source_display}; {effect}.",
            fix=f"Change the choices to values of the picklist ({allowed}), or add the "
            "values to the picklist in Salesforce.",
            severity=severity,
        )
    ]


def _source_max_length(spec: MappingSpec, source_type: str) -> int | None:
    if source_type in _RENDERED_LENGTH:
        return _RENDERED_LENGTH[source_type]
    if source_type == CHOICE and spec.source_choices:
        return max(len(c) for c in spec.source_choices)
    if source_type == MULTICHOICE and spec.source_choices:
        return len("; ".join(spec.source_choices))
    if spec.source_max_length is not None:
        return spec.source_max_length
    fact = BOOKING_FACTS.get(spec.source_key) if spec.source_kind is SourceKind.BOOKING else None
    return fact.max_length if fact else None


def _length_problems(facts: FieldFacts, spec: MappingSpec, source_type: str) -> list[Problem]:
    if spec.accept_truncation or facts.length <= 0:
        return []
    longest = _source_max_length(spec, source_type)
    if spec.source_kind is SourceKind.QUESTION:
        fix = (
            f"Limit {spec.source_display} to {facts.length} characters, or accept "
            f"truncation on this mapping (longer answers are cut to {facts.length})."
        )
    else:  # a booking fact or a URL parameter: nothing to limit, only truncation to accept
        fix = (
            f"Accept truncation on this mapping: longer values are cut to {facts.length} "
            "characters."
        )
    if longest is None:
        if source_type == NUMBER:
            return []
        return [
            Problem(
                field=facts.name,
                code=Code.STRING_TOO_LONG,
                message=f"{facts.display} holds {facts.length} characters; "
                f"{spec.source_display} has no maximum length, so longer values are refused.",
                fix=fix,
                severity=Severity.WARNING,
            )
        ]
    if longest <= facts.length:
        return []
    # Staff can shorten a question, not a booking fact (a guest email may legally be 254
    # characters, Lead.Email holds 80): for facts this is a warning, for questions an error.
    booking = spec.source_kind is SourceKind.BOOKING
    return [
        Problem(
            field=facts.name,
            code=Code.STRING_TOO_LONG,
            message=f"{facts.display} holds {facts.length} characters; {spec.source_display} "
            f"may give {longest}.",
            fix=fix,
            severity=Severity.WARNING if booking else Severity.ERROR,
        )
    ]


def _required_problems(describe: Describe, mappings: Sequence[MappingSpec]) -> list[Problem]:
    """Rule 5: each required-on-create field needs a mapping whose source is never blank."""
    sobject = describe.get("name", "a record")
    problems = []
    for facts in required_on_create(describe):
        specs = [m for m in mappings if m.sf_field == facts.name]
        if not specs:
            problems.append(
                Problem(
                    field=facts.name,
                    code=Code.REQUIRED_FIELD_MISSING,
                    message=f"{facts.display} is required to create a {sobject}, "
                    "and no mapping feeds it.",
                    fix="Map it to a required question, a booking fact or a constant.",
                )
            )
        elif not any(mapping_never_blank(spec) for spec in specs):
            sources = ", ".join(spec.source_display for spec in specs)
            problems.append(
                Problem(
                    field=facts.name,
                    code=Code.REQUIRED_FIELD_MAY_BE_BLANK,
                    message=f"{facts.display} is required to create a {sobject}, but "
                    f"{sources} may be blank: those bookings would be refused.",
                    fix="Make the question required, or feed the field from a booking fact "
                    "that is never blank or a constant.",
                )
            )
    return problems

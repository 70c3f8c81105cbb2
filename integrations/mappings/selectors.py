"""Reads of the mapping admin: the cached schema as form choices, unused URL keys, the preview.

Nothing here calls Salesforce: every describe comes from the cache (SObjectSchema). Writes,
including fetching a schema that is not cached yet, are in integrations.mappings.services.
"""

from __future__ import annotations

import datetime
import json
import uuid
from dataclasses import dataclass, field
from typing import Any

from django.utils import timezone

from bookings.answers import DEFAULT_MAX_LENGTH
from bookings.models import Booking, BookingPage, Question
from integrations.mappings.records import record_for, target_mapping_specs
from integrations.models import SalesforceConnection, SObjectSchema, SyncTarget
from integrations.salesforce import schema as sf_schema
from integrations.salesforce.mapping import BOOKING_FACTS, MappingSpec, Problem, SourceKind
from integrations.salesforce.mapping_rules import mapping_problems
from integrations.salesforce.payload import UnusedUrlKey, unused_url_keys
from integrations.salesforce.record_check import record_check

RECENT_BOOKINGS = 200  # how many of a page's latest bookings rule 7's key list looks at
Kind = Question.Kind


def connection_for_page(page: BookingPage) -> SalesforceConnection | None:
    """The Salesforce connection of the page's tenant (one per tenant), if any."""
    return SalesforceConnection.objects.filter(tenant_id=page.tenant_id).first()


def schema_cached(*, connection: SalesforceConnection, sobject: str) -> SObjectSchema | None:
    """The cached describe of `sobject` for `connection`, or None; never calls Salesforce."""
    return SObjectSchema.objects.filter(connection=connection, sobject=sobject).first()


def field_label(facts: sf_schema.FieldFacts) -> str:
    """How the picker names a field: label, API name, type and length."""
    kind = f"{facts.type}({facts.length})" if facts.length else facts.type
    required = " · required" if facts.required_on_create else ""
    return f"{facts.label} ({facts.name}) · {kind}{required}"


@dataclass
class MappingContext:
    """What the target form and its mapping rows are built from: the cached describe of the
    target's object, the write mode, and the page's questions."""

    page: BookingPage | None = None
    sobject: str = ""
    updating: bool = True
    connection: SalesforceConnection | None = None
    schema: SObjectSchema | None = None
    questions: list[Question] = field(default_factory=list)
    error: str = ""  # why there is no describe, in words for staff

    @property
    def describe(self) -> dict[str, Any] | None:
        return self.schema.describe if self.schema else None

    def field_choices(self) -> list[tuple[str, str]]:
        """Rule 6: only the fields the connected user may write in this write mode."""
        if self.describe is None:
            return []
        return [
            (facts.name, field_label(facts))
            for facts in sf_schema.insertable_fields(self.describe, updating=self.updating)
        ]

    def key_field_choices(self) -> list[tuple[str, str]]:
        """External-ID fields only: the upsert key that receives the booking id."""
        if self.describe is None:
            return []
        return [
            (facts.name, field_label(facts))
            for facts in sf_schema.external_id_fields(self.describe)
        ]

    def picklists(self) -> dict[str, list[str]]:
        """Active values of each insertable picklist field, for the constant's datalist."""
        if self.describe is None:
            return {}
        return {
            facts.name: [v.value for v in facts.picklist_values]
            for facts in sf_schema.insertable_fields(self.describe, updating=self.updating)
            if facts.type in sf_schema.PICKLIST_TYPES
        }

    def source_key_choices(self) -> list[tuple[str, Any]]:
        """Grouped: the page's questions, then the booking facts."""
        questions = [
            (q.key, f"{q.label} ({q.key}) · {q.kind}{' · required' if q.required else ''}")
            for q in self.questions
        ]
        facts = [
            (fact.key, f"{fact.label}{' · never blank' if fact.never_blank else ''}")
            for fact in BOOKING_FACTS.values()
        ]
        return [("", "—"), ("Questions of this page", questions), ("Booking facts", facts)]


def mapping_context(*, page: BookingPage | None, sobject: str, write_mode: str) -> MappingContext:
    """The context for a target of `page` on `sobject` (from the cache only)."""
    context = MappingContext(
        page=page,
        sobject=sobject,
        updating=sf_schema.WriteMode(write_mode or SyncTarget.WriteMode.UPSERT).updates,
    )
    if page is None:
        context.error = "Choose the booking page first."
        return context
    context.questions = list(page.questions.all())
    context.connection = connection_for_page(page)
    if context.connection is None:
        context.error = "This tenant has not connected Salesforce yet."
    elif sobject:
        context.schema = schema_cached(connection=context.connection, sobject=sobject)
        if context.schema is None:
            context.error = f"The fields of {sobject} are not loaded yet: press Refresh fields."
    return context


def target_mapping_context(target: SyncTarget) -> MappingContext:
    return mapping_context(page=target.page, sobject=target.sobject, write_mode=target.write_mode)


def recent_url_keys(page: BookingPage, *, limit: int = RECENT_BOOKINGS) -> set[str]:
    """The URL parameter keys the page's `limit` latest bookings carried."""
    keys: set[str] = set()
    recent = Booking.objects.filter(page=page).order_by("-created_at")
    for params in recent.values_list("url_params", flat=True)[:limit]:
        keys.update((params or {}).keys())
    return keys


def target_unused_url_keys(
    target: SyncTarget, *, limit: int = RECENT_BOOKINGS
) -> list[UnusedUrlKey]:
    """Rule 7: URL keys recent bookings of the target's page carried that no mapping posts,
    each with the exact field name when it differs only in case (leadsource → LeadSource)."""
    context = target_mapping_context(target)
    return unused_url_keys(
        recent_url_keys(target.page, limit=limit),
        target_mapping_specs(target, questions=context.questions),
        describe=context.describe,
    )


# -- preview ------------------------------------------------------------------------------------


@dataclass
class Preview:
    """The record one booking would produce, and what Salesforce would say about it."""

    target: SyncTarget
    booking: Booking | None
    sample: bool
    record: dict[str, Any] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)
    url_params_posted: dict[str, Any] = field(default_factory=dict)
    url_params_ignored: dict[str, Any] = field(default_factory=dict)
    error: str = ""
    sources: dict[str, str] = field(default_factory=dict)  # field -> where it came from

    @property
    def operation(self) -> str:
        """The REST call the record goes out with (for the JSON form, for developers)."""
        target = self.target
        if target.write_mode == SyncTarget.WriteMode.UPSERT and target.key_field:
            key = self.record.get(target.key_field, "<booking id>")
            return f"PATCH /sobjects/{target.sobject}/{target.key_field}/{key}"
        return f"POST /sobjects/{target.sobject}/"

    @property
    def summary(self) -> str:
        """What sending the record does, in words for staff."""
        target = self.target
        if target.write_mode == SyncTarget.WriteMode.UPSERT and target.key_field:
            return (
                f"Creates a {target.sobject}, or updates the one whose {target.key_field} "
                "holds this booking's id: sending it again never makes a second record."
            )
        return f"Creates a new {target.sobject}."

    @property
    def rows(self) -> list[tuple[str, Any, str]]:
        """(field, value, where it came from), in the record's order."""
        return [
            (name, value, self.sources.get(name, ""))
            for name, value in self.record.items()
            if name != "attributes"
        ]

    @property
    def record_json(self) -> str:
        return json.dumps(self.record, indent=2, ensure_ascii=False)

    def as_dict(self) -> dict[str, Any]:
        return {
            "operation": self.operation,
            "record": self.record,
            "problems": [problem_as_dict(p) for p in self.problems],
            "sample": self.sample,
            "booking": str(self.booking.uid) if self.booking else None,
            "url_params_posted": self.url_params_posted,
            "url_params_ignored": self.url_params_ignored,
            "error": self.error,
        }


def problem_as_dict(problem: Problem) -> dict[str, str]:
    return {
        "field": problem.field,
        "code": str(problem.code),
        "message": problem.message,
        "fix": problem.fix,
        "severity": str(problem.severity),
    }


def page_latest_booking(page: BookingPage) -> Booking | None:
    return Booking.objects.filter(page=page).order_by("-created_at", "-pk").first()


def _sample_answer(question: Question) -> Any:
    """A plausible typed answer (as bookings.answers stores it) for one question."""
    if question.kind in (Kind.CHOICE, Kind.MULTICHOICE):
        choices = list(question.choices or [])
        if question.kind == Kind.CHOICE:
            return choices[0] if choices else None
        return choices[:2]
    text = f"Sample {question.label}".strip()
    limit = question.max_length or DEFAULT_MAX_LENGTH.get(question.kind)
    return {
        Kind.EMAIL: "sample.guest@example.com",
        Kind.PHONE: "+442079460958",
        Kind.NUMBER: 42,
        Kind.DATE: timezone.localdate().isoformat(),
        Kind.CHECKBOX: True,
    }.get(question.kind, text[:limit] if limit else text)


def sample_answers(page: BookingPage) -> dict[str, Any]:
    """A plausible answer to each of the page's questions, as a guest would send them."""
    answers = {}
    for question in page.questions.all():
        value = _sample_answer(question)
        answers[question.key] = (
            str(value) if isinstance(value, int | float) and not isinstance(value, bool) else value
        )
    return answers


def sample_booking(
    target: SyncTarget, *, describe: dict | None, specs: list[MappingSpec]
) -> Booking:
    """An unsaved booking of the target's page: an answer for every question, and each
    URL parameter a URL mapping reads (named exactly as its field, rule 7)."""
    page = target.page
    now = timezone.now().replace(microsecond=0)
    starts_at = now.replace(minute=0, second=0) + datetime.timedelta(days=1)
    url_params: dict[str, str] = {}
    for spec in specs:
        if spec.source_kind is SourceKind.URL_PARAM:
            facts = sf_schema.field(describe, spec.sf_field) if describe else None
            values = [v.value for v in facts.picklist_values] if facts else []
            url_params[spec.sf_field] = values[0] if values else "sample"
    return Booking(
        page=page,
        uid=uuid.uuid4(),
        starts_at=starts_at,
        ends_at=starts_at + datetime.timedelta(minutes=page.duration_minutes),
        guest_name="Ada Lovelace",
        guest_email="ada.lovelace@example.com",
        guest_timezone=page.timezone,
        answers={q.key: _sample_answer(q) for q in page.questions.all()},
        url_params=url_params,
        created_at=now,
    )


def target_preview(
    *, target: SyncTarget, booking: Booking | None = None, sample: bool = False
) -> Preview:
    """The record `booking` (default: the page's latest; or an in-memory sample when
    `sample` or the page has no booking) would produce, built exactly as the push builds
    it (records.record_for) and checked as the push checks it (record_check). Uses the
    cached describe only; `error` says why there is no record when none is cached."""
    context = target_mapping_context(target)
    specs = target_mapping_specs(target, questions=context.questions)
    if booking is None and not sample:
        booking = page_latest_booking(target.page)
    if booking is None:
        sample = True
        booking = sample_booking(target, describe=context.describe, specs=specs)
    preview = Preview(target=target, booking=booking, sample=sample)
    url_fields = {s.sf_field for s in specs if s.source_kind is SourceKind.URL_PARAM}
    for key, value in (booking.url_params or {}).items():
        bucket = preview.url_params_posted if key in url_fields else preview.url_params_ignored
        bucket[key] = value
    if context.describe is None:
        preview.error = context.error
        return preview
    preview.record = record_for(
        target=target, booking=booking, describe=context.describe, specs=specs
    )
    preview.sources = spec_sources(target, specs, context.questions)
    preview.problems = record_check(
        context.describe, preview.record, write_mode=target.core_write_mode
    )
    return preview


def spec_sources(
    target: SyncTarget, specs: list[MappingSpec], questions: list[Question]
) -> dict[str, str]:
    """Where each field's value comes from, in words (by Salesforce field)."""
    labels = {q.key: q.label for q in questions}
    sources = {}
    for spec in specs:
        if spec.source_kind is SourceKind.QUESTION:
            text = f"Question “{labels.get(spec.source_key, spec.source_key)}”"
        elif spec.source_kind is SourceKind.BOOKING:
            fact = BOOKING_FACTS.get(spec.source_key)
            text = f"Booking: {fact.label.lower()}" if fact else spec.source_key
        elif spec.source_kind is SourceKind.URL_PARAM:
            text = f"Link parameter “{spec.sf_field}”"
        else:
            text = "Always this value"
        sources[spec.sf_field] = text
    if target.key_field:
        sources.setdefault(target.key_field, "The booking's id")
    return sources


# -- problems stored on targets ----------------------------------------------------------------


def stored_problems(target: SyncTarget) -> list[dict[str, str]]:
    return [p for p in (target.problems or []) if isinstance(p, dict)]


def target_error_count(target: SyncTarget) -> int:
    return sum(1 for p in stored_problems(target) if p.get("severity") == "error")


def targets_needing_attention(connection: SalesforceConnection) -> list[SyncTarget]:
    """Targets of the connection's tenant whose last schema check found errors (drift)."""
    targets = SyncTarget.objects.filter(page__tenant_id=connection.tenant_id).select_related("page")
    return [t for t in targets if target_error_count(t)]


def target_warnings(target: SyncTarget, context: MappingContext) -> list[Problem]:
    """What the saved mappings would be warned about now (saved anyway), from the cached
    describe: shown on the page with their one-click fixes, not only after each save."""
    if context.describe is None:
        return []
    specs = target_mapping_specs(target, questions=context.questions)
    problems = mapping_problems(context.describe, specs, write_mode=target.core_write_mode)
    return [p for p in problems if not p.is_error]

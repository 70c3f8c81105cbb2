"""The record preview: what a booking (the latest, a given one, or a made-up sample)
would post, built and checked as the push builds and checks it; for person targets, how the
guest is found and what the meeting would be. Cached describes only."""

from __future__ import annotations

import datetime
import json
import uuid
from dataclasses import dataclass, field
from typing import Any

from django.utils import timezone

from bookings.answers import DEFAULT_MAX_LENGTH
from bookings.models import Booking, BookingPage, Question
from integrations.mappings.records import event_record_for, record_for, target_mapping_specs
from integrations.mappings.selectors.context import (
    connection_for_page,
    schema_cached,
    target_mapping_context,
)
from integrations.models import FieldMapping, SyncTarget
from integrations.salesforce import schema as sf_schema
from integrations.salesforce.mapping import BOOKING_FACTS, MappingSpec, Problem, SourceKind
from integrations.salesforce.record_check import record_check

Kind = Question.Kind

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
    person: PersonPreview | None = None
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
    if target.is_person:
        preview.person = person_preview(target=target, booking=booking, record=preview.record)
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


# -- the person and the meeting (Lead / Contact targets) -----------------------------------------


@dataclass
class PersonPreview:
    """What a booking would do to the person and the meeting, in words and fields."""

    finding: str
    on_found: list[tuple[str, str]]  # (field, how it is written on a person found)
    on_create: str
    event: dict[str, Any] = field(default_factory=dict)
    event_note: str = ""
    lookup: str = ""  # what a live lookup of the guest found (filled on request)


POLICY_WORDS = {
    "always": "overwritten",
    "if_empty": "written only where Salesforce's value is empty",
    "on_create": "left alone (written only on a new record)",
}


def person_preview(*, target: SyncTarget, booking: Booking, record: dict) -> PersonPreview:
    """The person and meeting side of the preview (cached describes only)."""
    policies = {
        m.sf_field: m.write_policy
        for m in target.mappings.all()
        if m.applies_to == FieldMapping.AppliesTo.PERSON
    }
    finding = {
        SyncTarget.PersonMatch.CONTACT_THEN_LEAD: "The guest is looked up by email: an existing "
        "Contact first (a converted Lead counts as its Contact), then a Lead; with several, the "
        "most recently modified.",
        SyncTarget.PersonMatch.LEAD_ONLY: "The guest is looked up by email among Leads.",
        SyncTarget.PersonMatch.ALWAYS_CREATE: "The guest is not looked up: every booking is "
        "its own record (the booking id keeps a resend from making a second one).",
    }[target.person_match]
    on_found = [
        (name, POLICY_WORDS.get(policies.get(name, "always"), "overwritten"))
        for name in record
        if name != target.key_field
    ]
    owner = {
        SyncTarget.OwnerPolicy.ASSIGNMENT_RULES: "Salesforce's active assignment rule",
        SyncTarget.OwnerPolicy.HOST: "the page's host",
        SyncTarget.OwnerPolicy.FIXED: target.owner_name or target.owner_id or "the fixed owner",
        SyncTarget.OwnerPolicy.LEAVE: "Salesforce's default (the integration user)",
    }[target.owner_policy]
    preview = PersonPreview(
        finding=finding,
        on_found=on_found,
        on_create=f"Otherwise a new {target.sobject} is created with every field above; "
        f"its owner: {owner}.",
    )
    if target.event_enabled:
        connection = connection_for_page(target.page)
        cached = connection and schema_cached(connection=connection, sobject="Event")
        specs = target_mapping_specs(target, applies_to=FieldMapping.AppliesTo.EVENT)
        preview.event = event_record_for(
            target=target,
            booking=booking,
            describe=cached.describe if cached else None,
            specs=specs,
        )
        host = target.page.host
        preview.event_note = (
            f"On the person, owned by the host ({host})'s Salesforce user."
            if host
            else "The page has no host: the integration user would own the meeting."
        )
    return preview

"""From Django rows to the pure mapping core: the record one booking produces for one target.

The preview (mapping admin) and the push (delivery pipeline) both build records here, so
what staff preview is exactly what is posted.
"""

import functools
import uuid
from typing import Any

from django.conf import settings
from django.urls import get_script_prefix, get_urlconf, reverse

from bookings.answers import answer_max_length
from bookings.models import Booking, BookingPage, Question
from integrations.models import FieldMapping, SyncTarget
from integrations.models.mapping import DEFAULT_EVENT_SUBJECT
from integrations.salesforce.mapping import MappingSpec, SourceKind, booking_facts_build
from integrations.salesforce.payload import SourceValues, datetime_format, record_build
from integrations.salesforce.people import WritePolicy


def target_mapping_specs(
    target: SyncTarget,
    *,
    mappings: list[FieldMapping] | None = None,
    questions: list[Question] | None = None,
    applies_to: str = FieldMapping.AppliesTo.PERSON,
) -> list[MappingSpec]:
    """The target's mappings of the record (or, with `applies_to` "event", of its
    meeting) as the pure core sees them, questions resolved.

    Pass `mappings` / `questions` to check unsaved rows (the admin form) or to reuse rows
    already loaded; by default both are read from the database.
    """
    if mappings is None:
        mappings = [m for m in target.mappings.all() if m.applies_to == applies_to]
    if questions is None:
        questions = list(target.page.questions.all())
    by_key = {q.key: q for q in questions}
    return [mapping_spec(m, by_key.get(m.source_key)) for m in mappings]


def mapping_spec(mapping: FieldMapping, question: Question | None) -> MappingSpec:
    """One mapping row (and its question, for question sources) as a MappingSpec."""
    kind = SourceKind(mapping.source_kind)
    spec: dict[str, Any] = {
        "sf_field": mapping.sf_field,
        "source_kind": kind,
        "source_key": mapping.source_key,
        "constant_value": mapping.constant_value,
        "accept_truncation": mapping.accept_truncation,
    }
    if kind is SourceKind.QUESTION and question is not None:
        spec.update(
            source_type=question.kind,
            source_required=question.required,
            source_max_length=answer_max_length(question),
            source_choices=tuple(question.choices or ()),
        )
    elif kind is SourceKind.BOOKING and mapping.source_key == "guest_last_name":
        spec["source_max_length"] = Booking._meta.get_field("guest_name").max_length
    return MappingSpec(**spec)


def booking_url(booking: Booking) -> str:
    """The public confirmation page of a booking (absolute)."""
    page = booking.page
    urlconf = get_urlconf() or settings.ROOT_URLCONF
    head, tail = _booked_path(urlconf, get_script_prefix(), page.tenant.slug, page.slug)
    return f"{settings.SITE_URL}{head}{booking.uid}{tail}"


_UID_STAND_IN = uuid.UUID(int=0)


@functools.lru_cache(maxsize=4096)
def _booked_path(urlconf: str, prefix: str, tenant_slug: str, page_slug: str) -> tuple[str, str]:
    """A page's confirmation path around its booking's uid, reversed once per page (not per
    record of every push: ~0.025 ms each)."""
    path = reverse("bookings:booked", urlconf=urlconf, args=[tenant_slug, page_slug, _UID_STAND_IN])
    head, _, tail = path.rpartition(str(_UID_STAND_IN))
    return head, tail


def booking_source_values(booking: Booking) -> SourceValues:
    """Everything a mapping may read from one booking."""
    page: BookingPage = booking.page
    facts = booking_facts_build(
        guest_name=booking.guest_name,
        guest_email=booking.guest_email,
        starts_at=booking.starts_at,
        ends_at=booking.ends_at,
        page_title=page.title,
        booking_id=str(booking.uid),
        booking_url=booking_url(booking),
        timezone=booking.guest_timezone or page.timezone,
        created_at=booking.created_at,
    )
    return SourceValues(
        answers=booking.answers or {}, booking=facts, url_params=booking.url_params or {}
    )


def booking_key_value(booking: Booking) -> str:
    """The value written to a target's key field: the booking's public id."""
    return str(booking.uid)


def record_for(
    *, target: SyncTarget, booking: Booking, describe: dict, specs: list[MappingSpec]
) -> dict[str, Any]:
    """The record `booking` produces for `target`, in Salesforce's wire format.

    The key field (when the target has one) carries the booking id, so upserts are
    idempotent and create mode can find a record it may already have created. The record
    holds no `attributes`; the transport adds what its call needs.
    """
    record = record_build(describe=describe, mappings=specs, values=booking_source_values(booking))
    if target.key_field:
        record[target.key_field] = booking_key_value(booking)
    return record


def target_write_policies(
    target: SyncTarget, *, mappings: list[FieldMapping] | None = None
) -> dict[str, WritePolicy]:
    """Each record field's write policy (fields not listed are written always), from
    `mappings` (all of the target's) when given, else read."""
    return {
        m.sf_field: WritePolicy(m.write_policy)
        for m in (target.mappings.all() if mappings is None else mappings)
        if m.applies_to == FieldMapping.AppliesTo.PERSON
    }


def event_subject(target: SyncTarget, booking: Booking) -> str:
    """The Event's subject from the target's template ({page}, {guest_name}, {guest_email})."""
    values = {
        "page": booking.page.title,
        "guest_name": booking.guest_name,
        "guest_email": booking.guest_email,
    }
    template = target.event_subject or DEFAULT_EVENT_SUBJECT
    try:
        subject = template.format_map(values)
    except (KeyError, ValueError, IndexError):
        subject = DEFAULT_EVENT_SUBJECT.format_map(values)
    return subject[:255]


def event_description(booking: Booking, *, labels: dict[str, str] | None = None) -> str:
    """The guest's answers, one per line, as the Event's description. `labels` (question
    key -> label) saves reading the page's questions for each booking of a batch."""
    questions = labels if labels is not None else question_labels(booking.page)
    lines = [f"Booked on {booking.page.title}: {booking_url(booking)}"]
    for key, value in (booking.answers or {}).items():
        if value in (None, "", [], False):
            continue
        shown = ", ".join(map(str, value)) if isinstance(value, list) else str(value)
        lines.append(f"{questions.get(key, key)}: {shown}")
    return "\n".join(lines)[:32000]


def question_labels(page: BookingPage) -> dict[str, str]:
    return {q.key: q.label for q in page.questions.all()}


def event_record_for(
    *,
    target: SyncTarget,
    booking: Booking,
    describe: dict | None,
    specs: list[MappingSpec],
    owner_id: str = "",
    key_field: str = "",
    labels: dict[str, str] | None = None,
) -> dict[str, Any]:
    """The Event `booking` writes for `target` (without WhoId / WhatId, which the person
    decides): subject, start and end, description, the owner, the booking id in
    `key_field`, then the target's Event mappings."""
    record: dict[str, Any] = {
        "Subject": event_subject(target, booking),
        "StartDateTime": datetime_format(booking.starts_at),
        "EndDateTime": datetime_format(booking.ends_at),
        "Description": event_description(booking, labels=labels),
    }
    if owner_id:
        record["OwnerId"] = owner_id
    if key_field:
        record[key_field] = booking_key_value(booking)
    if describe is not None and specs:
        values = booking_source_values(booking)
        record.update(record_build(describe=describe, mappings=specs, values=values))
    return record

"""From Django rows to the pure mapping core: the record one booking produces for one target.

The preview (mapping admin) and the push (delivery pipeline) both build records here, so
what staff preview is exactly what is posted.
"""

from typing import Any

from django.conf import settings
from django.urls import reverse

from bookings.answers import answer_max_length
from bookings.models import Booking, BookingPage, Question
from integrations.models import FieldMapping, SyncTarget
from integrations.salesforce.mapping import MappingSpec, SourceKind, booking_facts_build
from integrations.salesforce.payload import SourceValues, record_build


def target_mapping_specs(
    target: SyncTarget,
    *,
    mappings: list[FieldMapping] | None = None,
    questions: list[Question] | None = None,
) -> list[MappingSpec]:
    """The target's mappings as the pure core sees them, questions resolved.

    Pass `mappings` / `questions` to check unsaved rows (the admin form) or to reuse rows
    already loaded; by default both are read from the database.
    """
    if mappings is None:
        mappings = list(target.mappings.all())
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
    path = reverse("bookings:booked", args=[page.tenant.slug, page.slug, booking.uid])
    return f"{settings.SITE_URL}{path}"


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

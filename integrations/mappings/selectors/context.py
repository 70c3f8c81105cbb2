"""Reads of the mapping admin: the cached schema as form choices, unused URL keys, stored
problems.
Nothing here calls Salesforce: every describe comes from the cache (SObjectSchema). Writes,
including fetching a schema that is not cached yet, are in integrations.mappings.services.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from bookings.models import Booking, BookingPage, Question
from integrations.connection.directory import Directory, org_directory
from integrations.mappings.records import target_mapping_specs
from integrations.models import SalesforceConnection, SObjectSchema, SyncTarget
from integrations.salesforce import schema as sf_schema
from integrations.salesforce.mapping import BOOKING_FACTS, Problem
from integrations.salesforce.mapping_rules import mapping_problems
from integrations.salesforce.payload import UnusedUrlKey, unused_url_keys

RECENT_BOOKINGS = 200  # how many of a page's latest bookings rule 7's key list looks at


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
    directory: Directory = field(default_factory=Directory)  # cached users, queues, campaigns

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
    context.directory = org_directory(context.connection, cached_only=True)
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


# -- write-back fields: the Event and the person, updateable fields only ------------------


@dataclass
class WriteBackContext:
    """The cached describes a target's write-back pickers offer fields of: the Event and
    the target's own object (the person). None where not cached (`errors` say so)."""

    sobject: str = ""
    event: dict[str, Any] | None = None
    person: dict[str, Any] | None = None
    errors: list[str] = field(default_factory=list)

    def describe_for(self, applies_to: str) -> dict[str, Any] | None:
        return self.event if applies_to == "event" else self.person

    def choices(self, applies_to: str) -> list[tuple[str, str]]:
        """Only the fields the connected user may update (rule 6 for write-backs)."""
        describe = self.describe_for(applies_to)
        if describe is None:
            return []
        return [(f.name, field_label(f)) for f in sf_schema.updateable_fields(describe)]

    def text_choices(self) -> list[tuple[str, str]]:
        """The person's updateable text fields (for the cancel reason)."""
        if self.person is None:
            return []
        return [
            (f.name, field_label(f))
            for f in sf_schema.updateable_fields(self.person)
            if f.type in ("string", "textarea")
        ]


def write_back_context(*, page: BookingPage | None, sobject: str) -> WriteBackContext:
    """The write-back pickers of a target of `page` on `sobject` (from the cache only)."""
    context = WriteBackContext(sobject=sobject)
    connection = connection_for_page(page) if page is not None else None
    if connection is None:
        context.errors.append("Connect Salesforce to choose write-back fields.")
        return context
    for name, attr in ((sobject, "person"), ("Event", "event")):
        if not name:
            continue
        schema = schema_cached(connection=connection, sobject=name)
        if schema is None:
            context.errors.append(f"The fields of {name} are not loaded yet: press Refresh fields.")
        else:
            setattr(context, attr, schema.describe)
    return context

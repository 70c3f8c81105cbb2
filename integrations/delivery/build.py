"""The record a delivery sends, built for a push.

RecordBuilder(connection=..., client=...).build(delivery) -> Built
    The record of one delivery: its stored payload (a retry or plain resend sends
    exactly what was built first) or, when there is none, built now from the target's
    current mapping (integrations.mappings.records.record_for, the one record builder)
    and the cached describe; then the pre-send check (record_check) against that
    describe. A describe that is not cached yet is fetched and cached
    (mappings.services.schema_get_indexed), so this is a service, not a selector.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from bookings.models import Question
from integrations.delivery.claims import CLAIM_EXPIRED
from integrations.mappings.records import booking_key_value, record_for, target_mapping_specs
from integrations.mappings.services import schema_get_indexed
from integrations.models import Delivery, FieldMapping, SalesforceConnection, SyncTarget
from integrations.salesforce.client import SalesforceClient
from integrations.salesforce.errors import Kind, SalesforceError
from integrations.salesforce.mapping import MappingSpec
from integrations.salesforce.push import PushOutcome
from integrations.salesforce.record_check import record_check
from integrations.salesforce.schema import WriteMode

TARGET_GONE = "TARGET_DELETED"


@dataclass
class Built:
    """One delivery's record, ready to send, or why it cannot be sent (`error`)."""

    sobject: str
    write_mode: WriteMode
    key_field: str
    key: str
    record: dict[str, Any]
    fresh: bool  # built now (store it as the delivery's payload)
    error: SalesforceError | None = None
    operation: str = "pre-send check"

    @property
    def stored_payload(self) -> dict[str, Any] | None:
        """What to store as the payload: a freshly built record, even one we refuse."""
        return self.record if self.fresh and self.record else None

    def outcome(self) -> PushOutcome:
        """The attempt of a delivery refused before any record call."""
        return PushOutcome(
            ref=0, operation=self.operation, api_call_id=None, started_at=time.time(),
            error=self.error, http_status=self.error.http_status if self.error else None,
        )  # fmt: skip


def lookup_first(delivery: Delivery, built: Built) -> bool:
    """Whether an earlier try may have written the record without its outcome being
    recorded, so it is looked up by key before writing: in create mode after any try; in
    upsert mode after a claim that lapsed (a killed worker, a lost database)."""
    if built.write_mode is WriteMode.INSERT:
        return delivery.attempts > 1
    return delivery.last_error_code == CLAIM_EXPIRED


class RecordBuilder:
    """Builds the records of one claim; caches describes and mapping specs meanwhile."""

    def __init__(self, *, connection: SalesforceConnection, client: SalesforceClient) -> None:
        self.connection = connection
        self.client = client
        self._describes: dict[str, dict | SalesforceError] = {}
        self._specs: dict[int, list[MappingSpec]] = {}
        self._mappings: dict[int, list[FieldMapping]] = {}
        self._questions: dict[int, list[Question]] = {}

    def build(self, delivery: Delivery, *, check: bool = True) -> Built:
        target: SyncTarget | None = delivery.target
        key = booking_key_value(delivery.booking)
        if target is None:
            return self._refused(
                delivery, WriteMode.UPSERT, "", key, {}, SalesforceError(
                    Kind.PERMANENT, TARGET_GONE,
                    "This page no longer posts to this Salesforce object (its target was "
                    "deleted); nothing to send.",
                ),
            )  # fmt: skip
        write_mode = target.core_write_mode
        describe = self.describe(delivery.sobject)
        if isinstance(describe, SalesforceError):
            built = self._refused(delivery, write_mode, target.key_field, key, {}, describe)
            built.operation = "describe"
            return built
        record, fresh = delivery.payload, False
        if record is None:
            specs = self._specs.get(target.pk)
            if specs is None:
                specs = self._specs[target.pk] = self.specs(target, FieldMapping.AppliesTo.PERSON)
            record = record_for(
                target=target, booking=delivery.booking, describe=describe, specs=specs
            )
            fresh = True
        problems = []
        if check:
            problems = [
                p for p in record_check(describe, record, write_mode=write_mode) if p.is_error
            ]
        error = None
        if problems:
            first = problems[0]
            error = SalesforceError(
                Kind.PERMANENT,
                str(first.code),
                " ".join(p.message for p in problems),
                fields=[p.field for p in problems],
            )
        return Built(
            sobject=delivery.sobject, write_mode=write_mode, key_field=target.key_field,
            key=key, record=record, fresh=fresh, error=error,
        )  # fmt: skip

    def mappings(self, target: SyncTarget) -> list[FieldMapping]:
        """All of the target's mappings (record and meeting), read once per push."""
        mappings = self._mappings.get(target.pk)
        if mappings is None:
            mappings = self._mappings[target.pk] = list(target.mappings.all())
        return mappings

    def specs(self, target: SyncTarget, applies_to: str) -> list[MappingSpec]:
        """The target's mappings of the record or the meeting as specs, from one read of
        its mappings and one of its page's questions per push (not one of each, and of
        the page, for every use)."""
        mappings = [m for m in self.mappings(target) if m.applies_to == applies_to]
        return target_mapping_specs(
            target, mappings=mappings, questions=self.questions(target.page_id),
            applies_to=applies_to,
        )  # fmt: skip

    def questions(self, page_id: int) -> list[Question]:
        """The page's questions, read once per push."""
        questions = self._questions.get(page_id)
        if questions is None:
            questions = self._questions[page_id] = list(Question.objects.filter(page_id=page_id))
        return questions

    def describe(self, sobject: str) -> dict | SalesforceError:
        """The cached describe of `sobject`; fetched and cached when missing. A failed
        fetch is remembered for this claim (its error becomes each delivery's)."""
        if sobject not in self._describes:
            try:
                # Parsed once per process while it is unchanged, indexed once for
                # every record of the push.
                self._describes[sobject] = schema_get_indexed(
                    connection=self.connection, sobject=sobject
                )
            except SalesforceError as error:
                self._describes[sobject] = error
        return self._describes[sobject]

    @staticmethod
    def _refused(delivery, write_mode, key_field, key, record, error) -> Built:
        return Built(
            sobject=delivery.sobject, write_mode=write_mode, key_field=key_field, key=key,
            record=record, fresh=False, error=error,
        )  # fmt: skip

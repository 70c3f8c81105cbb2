"""Deliveries to person targets (Lead or Contact) as `PersonItem`s for the seam's
`people_push`: the person's fields under their write policies, the Event, the owner, the
campaign — built from the booking, the target's policies and mappings, and the cached
describes of Lead, Contact and Event.

    PeopleBuilder(connection=..., client=...).item(delivery) -> (PersonItem | None, Built)
        No item when the delivery cannot be sent (the Built's error says why).
"""

from __future__ import annotations

from typing import Any

from integrations.delivery.build import Built, RecordBuilder, lookup_first
from integrations.delivery.claims import CLAIM_EXPIRED
from integrations.mappings.records import (
    booking_key_value,
    event_record_for,
    target_write_policies,
)
from integrations.models import Delivery, FieldMapping, SalesforceUserLink, SyncTarget
from integrations.salesforce.errors import SalesforceError
from integrations.salesforce.people import (
    CONTACT,
    EVENT,
    LEAD,
    DuplicatePolicy,
    MatchPolicy,
    OwnerPolicy,
    WritePolicy,
)
from integrations.salesforce.person_push import PersonItem
from integrations.salesforce.schema import fields_by_name

#: The booking-id field LeadSync looks for on Events (an Activity custom field).
EVENT_KEY_FIELD = "LeadSync_Booking_Id__c"


class PeopleBuilder(RecordBuilder):
    """Builds the person items of one push; caches describes, specs and host links."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._policies: dict[int, dict[str, WritePolicy]] = {}
        self._event_specs: dict[int, list] = {}
        self._hosts: dict[int | None, str] = {}
        self._labels: dict[int, dict[str, str]] = {}

    def describes(self, items: list[PersonItem]) -> dict[str, dict | None]:
        """The describes `items` need (the objects they may find, update or create, and
        Event when they write one); None where Salesforce refused one."""
        needed = {item.create_object for item in items}
        if any(item.match_policy is not MatchPolicy.ALWAYS_CREATE for item in items):
            needed |= {LEAD, CONTACT}
        if any(item.event is not None for item in items):
            needed.add(EVENT)
        found = {}
        for sobject in sorted(needed):
            describe = self.describe(sobject)
            found[sobject] = None if isinstance(describe, SalesforceError) else describe
        return found

    def item(self, delivery: Delivery) -> tuple[PersonItem | None, Built]:
        """The delivery's person item and the record it was built from; (None, built)
        when it cannot be sent (`built.error` says why)."""
        # The person record (stored payload, or built now); checked against the object
        # only where it is created (the seam), since an update writes what it may.
        built = self.build(delivery, check=False)
        if built.error is not None:
            return None, built
        target: SyncTarget = delivery.target
        booking = delivery.booking
        policies = self._policies.get(target.pk)
        if policies is None:
            policies = self._policies[target.pk] = target_write_policies(
                target, mappings=self.mappings(target)
            )
        owner_policy = OwnerPolicy(target.owner_policy)
        host_user = self._host_user(delivery)
        owner_on_create = {
            OwnerPolicy.HOST: host_user,
            OwnerPolicy.FIXED: target.owner_id,
        }.get(owner_policy, "")
        item = PersonItem(
            ref=delivery.pk,
            email=booking.guest_email,
            key=booking_key_value(booking),
            create_object=target.sobject,
            record=built.record,
            policies=policies,
            match_policy=MatchPolicy(target.person_match),
            duplicate_policy=DuplicatePolicy(target.duplicate_policy),
            key_field=target.key_field,
            write_mode=built.write_mode,
            lookup_first=lookup_first(delivery, built),
            auto_assign=owner_policy is OwnerPolicy.ASSIGNMENT_RULES,
            read_owner=owner_policy is not OwnerPolicy.LEAVE or target.event_enabled,
            owner_on_create=owner_on_create,
            campaign=(target.campaign_id, target.campaign_status) if target.campaign_id else None,
            account_name=str((booking.answers or {}).get(target.account_question) or "")
            if target.account_question
            else "",
            steps=dict(delivery.steps or {}),
        )
        if built.fresh and item.steps.get("person"):
            # Resent with the current mapping (the stored record was dropped): write the
            # person again; the meeting and the campaign membership stay as they are.
            for step in ("find", "person", "duplicate", "owner"):
                item.steps.pop(step, None)
        if target.event_enabled:
            self._event_add(item, delivery, host_user)
        return item, built

    def _event_add(self, item: PersonItem, delivery: Delivery, host_user: str) -> None:
        target: SyncTarget = delivery.target
        describe = self.describe(EVENT)
        if isinstance(describe, SalesforceError):
            describe = None
        specs = self._event_specs.get(target.pk)
        if specs is None:
            specs = self._event_specs[target.pk] = self.specs(target, FieldMapping.AppliesTo.EVENT)
        key_field = (
            EVENT_KEY_FIELD if describe and EVENT_KEY_FIELD in fields_by_name(describe) else ""
        )
        item.event = event_record_for(
            target=target,
            booking=delivery.booking,
            describe=describe,
            specs=specs,
            owner_id=host_user,
            key_field=key_field,
            labels=self._page_labels(delivery.booking.page),
        )
        item.event_key_field = key_field
        item.event_lookup_first = delivery.last_error_code == CLAIM_EXPIRED

    def _page_labels(self, page) -> dict[str, str]:
        if page.pk not in self._labels:
            self._labels[page.pk] = {q.key: q.label for q in self.questions(page.pk)}
        return self._labels[page.pk]

    def _host_user(self, delivery: Delivery) -> str:
        """The Salesforce user id of the page's host ('' when the page has no host, or the
        host is not linked to a user of this org)."""
        host_id = delivery.booking.page.host_id
        if host_id not in self._hosts:
            link = SalesforceUserLink.objects.filter(
                connection=self.connection, user_id=host_id
            ).first()
            self._hosts[host_id] = link.sf_user_id if link and host_id else ""
        return self._hosts[host_id]

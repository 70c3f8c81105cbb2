"""Reads of one delivery's page: payload, answers, the explanation of its error, and
what a person delivery did in Salesforce."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bookings.models import Question
from integrations.dashboard.selectors.summary import field_sources
from integrations.models import (
    Delivery,
    FieldMapping,
    SalesforceUserLink,
)
from integrations.salesforce.explanations import Explanation, FieldSource, explain

Status = Delivery.Status

# -- one delivery -------------------------------------------------------------------------------


@dataclass
class PayloadRow:
    field: str
    value: Any
    mapping: FieldMapping | None
    source: str  # what feeds it, in words


def delivery_payload_rows(delivery: Delivery) -> list[PayloadRow]:
    """Each key of the payload sent, with the FieldMapping behind it (None for the key
    field, which carries the booking id). A write-back's operations are shown apart."""
    if delivery.is_write_back:
        return []
    payload = delivery.payload or {}
    mappings: dict[str, FieldMapping] = {}
    sources: dict[str, FieldSource] = {}
    if delivery.target_id:
        mappings = {m.sf_field: m for m in delivery.target.mappings.all()}
        sources = field_sources({delivery.target_id})[delivery.target_id]
    key_field = delivery.target.key_field if delivery.target_id else ""
    rows = []
    for name, value in payload.items():
        if name == "attributes":
            continue
        if name == key_field and name not in mappings:
            source = "the booking id (the target's key field)"
        else:
            source = sources[name].describe() if name in sources else "no mapping now"
        rows.append(PayloadRow(name, value, mappings.get(name), source))
    return rows


@dataclass
class AnswerRow:
    label: str
    key: str
    text: str  # the answer in words; "" when the guest left it blank


def delivery_answer_rows(delivery: Delivery) -> list[AnswerRow]:
    """The booking's answers by question (label, key, answer); an unanswered question
    has an empty `text` (shown as "Not answered", never as "None")."""
    answers = delivery.booking.answers or {}
    labels = dict(
        Question.objects.filter(page_id=delivery.booking.page_id).values_list("key", "label")
    )
    rows = []
    for key, value in answers.items():
        if isinstance(value, bool):
            text = "Yes" if value else "No"
        elif isinstance(value, list):
            text = ", ".join(str(v) for v in value)
        else:
            text = "" if value is None else str(value)
        rows.append(AnswerRow(labels.get(key, key), key, text))
    return rows


def delivery_explanation(delivery: Delivery) -> Explanation | None:
    """The explanation of the delivery's last error, naming the question behind it."""
    if not delivery.last_error_code:
        return None
    sources = field_sources({delivery.target_id})[delivery.target_id] if delivery.target_id else {}
    return explain(
        delivery.last_error_code,
        delivery.last_error_message,
        fields=delivery.last_error_fields or [],
        sources=sources,
    )


@dataclass
class StepRow:
    label: str
    text: str
    warning: bool = False


def _host_problem(delivery: Delivery) -> str:
    """Why the meeting is not owned by a rep ('' when the host has a Salesforce user)."""
    page = delivery.booking.page
    if page.host_id is None:
        return (
            "The booking page has no host, so the integration user owns the meeting: choose "
            "a host on the booking page."
        )
    linked = SalesforceUserLink.objects.filter(
        connection_id=delivery.connection_id, user_id=page.host_id
    ).exists()
    if not linked:
        return (
            f"The page's host, {page.host}, has no Salesforce user, so the integration user "
            "owns the meeting: link the host to their user under Staff members' Salesforce "
            "users."
        )
    return ""


OWNER_HOW = {
    "assignment_rules": "Salesforce's assignment rule",
    "host": "the page's host",
    "fixed": "the target's fixed owner",
    "leave": "left to Salesforce",
}


def delivery_person_rows(delivery: Delivery) -> list[StepRow]:
    """What a person delivery did in Salesforce, step by step, in words: how the guest was
    found, what was created or updated, what a duplicate rule matched, the meeting, the
    campaign, who owns the person. Empty for deliveries of other objects and write-backs."""
    if delivery.is_write_back:
        return []
    steps = delivery.steps or {}
    rows: list[StepRow] = []
    if (steps.get("find") or {}).get("how"):
        rows.append(StepRow("Guest", steps["find"]["how"]))
    duplicate = steps.get("duplicate") or {}
    if duplicate.get("matched"):
        matched = ", ".join(f"{m['object']} {m['id']}" for m in duplicate["matched"])
        outcome = duplicate.get("resolved") or "not saved (the target's policy is to fail)"
        rows.append(
            StepRow(
                "Duplicate rule",
                f"{duplicate.get('rule') or 'A rule'} matched {matched}: {outcome}.",
            )
        )
    person = steps.get("person") or {}
    if person.get("id"):
        verb = "Created" if person.get("created") else "Updated"
        written = ", ".join(person.get("fields") or []) or "nothing to change"
        rows.append(StepRow(f"{person.get('object')}", f"{verb} {person['id']}: {written}."))
        for field_name, why in (person.get("skipped") or {}).items():
            rows.append(StepRow("Not written", f"{field_name}: {why}"))
    event = steps.get("event") or {}
    if event.get("id"):
        rows.append(StepRow("Meeting", f"Event {event['id']}."))
        host_problem = _host_problem(delivery)
        if host_problem:
            rows.append(StepRow("Meeting owner", host_problem, True))
    elif event.get("error"):
        rows.append(
            StepRow("Meeting", f"Not written: {event.get('message') or event['error']}", True)
        )
    campaign = steps.get("campaign") or {}
    if campaign.get("how") or campaign.get("error"):
        rows.append(
            StepRow(
                "Campaign",
                campaign.get("how") or campaign.get("message", ""),
                bool(campaign.get("error")),
            )
        )
    owner = steps.get("owner") or {}
    if owner.get("id"):
        how = OWNER_HOW.get(delivery.target.owner_policy if delivery.target else "", "")
        text = f"{owner.get('name') or owner['id']}" + (f" — {how}" if how else "")
        if owner.get("is_integration_user"):
            text += (
                ". Nobody follows this record up: the integration user owns it. Choose an "
                "owner on the target, or an assignment rule in Salesforce."
            )
        rows.append(StepRow("Owner", text, bool(owner.get("is_integration_user"))))
    return rows

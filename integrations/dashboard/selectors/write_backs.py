"""Reads of a delivery page's write-backs: the changes written back after a post (on the
post's page), and, on a write-back's own page, its change and its operations."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from integrations.models import Delivery

ACTIONS = {"update": "Update", "delete": "Delete"}


@dataclass
class OperationRow:
    record: str  # "Event 00U…", "Lead 00Q…"
    action: str
    fields: list[tuple[str, Any]]
    done: str  # what Salesforce did, "" before it did


def write_backs_of(post: Delivery) -> list[Delivery]:
    """The write-backs of `post` in the order of their changes (with their change)."""
    if post.is_write_back:
        return []
    return list(post.write_backs.select_related("change", "change__user").order_by("change_id"))


def write_back_operation_rows(delivery: Delivery) -> list[OperationRow]:
    """What a write-back sends (its stored operations) and what each did."""
    if not delivery.is_write_back:
        return []
    steps = delivery.steps or {}
    rows = []
    for op in (delivery.payload or {}).get("ops") or []:
        done = steps.get(op.get("step")) or {}
        rows.append(
            OperationRow(
                record=f"{op.get('sobject')} {op.get('record_id')}",
                action=ACTIONS.get(op.get("action"), op.get("action", "")),
                fields=sorted((op.get("fields") or {}).items()),
                done=done.get("done") or (f"{done['error']}" if done.get("error") else ""),
            )
        )
    return rows


def write_back_note(delivery: Delivery) -> str:
    """Why a sent write-back wrote nothing ('' otherwise)."""
    return str((delivery.steps or {}).get("note") or "")

"""Real describe payloads of the emulator's org, for the pure schema and payload tests.

Read straight from ``integrations/salesforce/emulator/org/``: the captured describes, and
LeadSync's ``overlay.json`` custom fields (LeadSync_Booking_Id__c, Meeting_Type__c,
Region__c) appended the way the emulator serves them. Each test gets its own copy.
"""

import copy
import json
from functools import cache
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[3]
ORG = REPO / "integrations" / "salesforce" / "emulator" / "org"


@cache
def _load(name: str) -> dict[str, Any]:
    return json.loads((ORG / name).read_text(encoding="utf-8"))


def describe_load(sobject: str, *, overlay: bool = False) -> dict[str, Any]:
    """A fresh copy of ``sobject``'s describe, with the overlay's fields if asked."""
    describe = copy.deepcopy(_load(f"{sobject}.json"))
    if overlay:
        extra = _load("overlay.json")["fields"].get(sobject, [])
        describe["fields"].extend(copy.deepcopy(extra))
    return describe


def raw_field(describe: dict[str, Any], name: str) -> dict[str, Any]:
    """The describe entry of field ``name`` (to edit it in place)."""
    return next(f for f in describe["fields"] if f["name"] == name)


@pytest.fixture
def lead() -> dict[str, Any]:
    """The real Lead describe, as captured."""
    return describe_load("Lead")


@pytest.fixture
def lead_org() -> dict[str, Any]:
    """Lead as a LeadSync org has it: the capture plus the overlay's custom fields."""
    return describe_load("Lead", overlay=True)


@pytest.fixture
def contact() -> dict[str, Any]:
    return describe_load("Contact")


@pytest.fixture
def event() -> dict[str, Any]:
    return describe_load("Event")


@pytest.fixture
def edit_field():
    """``edit_field(describe, name, **describe_keys)``: change one field's describe entry."""

    def edit(describe: dict[str, Any], name: str, **changes: Any) -> dict[str, Any]:
        raw_field(describe, name).update(changes)
        return describe

    return edit

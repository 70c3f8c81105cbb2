"""Field facts derived from a cached Salesforce describe: the one place that reads describe JSON.

Everything here is pure: functions take the describe dict of any sObject (the JSON body of
``GET /sobjects/<Object>/describe``) and return plain values. Nothing knows about Lead.
Semantics follow Salesforce's describe (DescribeSObjectResult / Field in the SOAP and
REST API references):

- *insertable* (rule 6): ``createable`` (and ``updateable`` when the write mode updates), and
  never a calculated, auto-number, hidden or compound (address/location) field.
- *required on create* (rule 5): ``createable and not nillable and not defaultedOnCreate``,
  skipping booleans, which are always ``nillable: false`` and defaulted to false.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from functools import cached_property
from typing import Any

Describe = dict[str, Any]

# Types whose wire value is a plain string that Salesforce length-checks.
STRING_TYPES = frozenset(
    {"string", "textarea", "email", "phone", "url", "combobox", "encryptedstring"}
)
PICKLIST_TYPES = frozenset({"picklist", "multipicklist"})
NUMBER_TYPES = frozenset({"int", "double", "currency", "percent"})
# Compound parents (Address, geolocation): read-only views over their component fields.
COMPOUND_TYPES = frozenset({"address", "location"})


class WriteMode(StrEnum):
    """How a record reaches Salesforce: ``insert`` only creates; ``upsert`` may update."""

    INSERT = "insert"
    UPSERT = "upsert"

    @property
    def updates(self) -> bool:
        """True when the write may update an existing record (fields must be updateable)."""
        return self is WriteMode.UPSERT


@dataclass(frozen=True)
class PicklistValue:
    """One active picklist entry: ``value`` is what the API stores, ``label`` what users see."""

    value: str
    label: str
    default: bool = False


@dataclass(frozen=True)
class FieldFacts:
    """What LeadSync needs to know about one field, read from its describe entry."""

    name: str
    label: str
    type: str
    length: int
    createable: bool
    updateable: bool
    nillable: bool
    defaulted_on_create: bool
    default_value: Any
    calculated: bool
    auto_number: bool
    external_id: bool
    unique: bool
    id_lookup: bool
    custom: bool
    restricted_picklist: bool
    picklist_values: tuple[PicklistValue, ...]  # active values only, in describe order
    precision: int  # double/currency/percent: total digits
    scale: int  # double/currency/percent: digits after the decimal point
    digits: int  # int: maximum digits
    reference_to: tuple[str, ...]
    compound_field_name: str | None
    hidden: bool  # deprecatedAndHidden

    def insertable(self, *, updating: bool = False) -> bool:
        """True if the connected user may write this field on create (and update if asked)."""
        if self.calculated or self.auto_number or self.hidden or self.type in COMPOUND_TYPES:
            return False
        if self.system_state:
            return False
        return self.createable and (self.updateable or not updating)

    @property
    def system_state(self) -> bool:
        """A standard create-only flag the platform itself maintains (Lead.IsConverted is
        set by lead conversion; Event.IsRecurrence by the recurrence engine). Describe calls
        them createable so data loads can set them, but a booking must never: rule 6 treats
        them as system fields."""
        return (
            not self.custom and self.type == "boolean" and self.createable and not self.updateable
        )

    @property
    def required_on_create(self) -> bool:
        """True if Salesforce refuses a create without a value for this field."""
        return (
            self.createable
            and not self.nillable
            and not self.defaulted_on_create
            and self.type != "boolean"
        )

    @property
    def picklist_value_set(self) -> frozenset[str]:
        """The active API values, for membership tests."""
        return frozenset(v.value for v in self.picklist_values)

    def picklist_value_for(self, text: str) -> str | None:
        """The active API value matching ``text`` by value, else by label; None if neither.

        Matching is exact (case-sensitive): it is what a restricted picklist surely accepts.
        """
        for entry in self.picklist_values:
            if entry.value == text:
                return entry.value
        for entry in self.picklist_values:
            if entry.label == text:
                return entry.value
        return None

    @property
    def display(self) -> str:
        """``Label (ApiName)``, how messages name a field."""
        return f"{self.label} ({self.name})"


def field_facts(raw: dict[str, Any]) -> FieldFacts:
    """Build FieldFacts from one entry of a describe's ``fields`` list.

    Missing keys take Salesforce's defaults for an ordinary field, so hand-written test
    entries and older API versions read the same way.
    """
    return FieldFacts(
        name=raw["name"],
        label=raw.get("label") or raw["name"],
        type=raw.get("type", "string"),
        length=int(raw.get("length") or 0),
        createable=bool(raw.get("createable", False)),
        updateable=bool(raw.get("updateable", False)),
        nillable=bool(raw.get("nillable", True)),
        defaulted_on_create=bool(raw.get("defaultedOnCreate", False)),
        default_value=raw.get("defaultValue"),
        calculated=bool(raw.get("calculated", False)),
        auto_number=bool(raw.get("autoNumber", False)),
        external_id=bool(raw.get("externalId", False)),
        unique=bool(raw.get("unique", False)),
        id_lookup=bool(raw.get("idLookup", False)),
        custom=bool(raw.get("custom", False)),
        restricted_picklist=bool(raw.get("restrictedPicklist", False)),
        picklist_values=tuple(
            PicklistValue(
                value=entry["value"],
                label=entry.get("label") or entry["value"],
                default=bool(entry.get("defaultValue", False)),
            )
            for entry in raw.get("picklistValues") or ()
            if entry.get("active", True)
        ),
        precision=int(raw.get("precision") or 0),
        scale=int(raw.get("scale") or 0),
        digits=int(raw.get("digits") or 0),
        reference_to=tuple(raw.get("referenceTo") or ()),
        compound_field_name=raw.get("compoundFieldName"),
        hidden=bool(raw.get("deprecatedAndHidden", False)),
    )


class IndexedDescribe(dict):
    """A describe whose fields are parsed once, on first use, for every later lookup.

    A push builds and checks hundreds of records against one describe; re-parsing its
    fields per record was most of the push's CPU. Treat it as read-only: the index does
    not follow later changes to the dict.
    """

    @cached_property
    def field_index(self) -> dict[str, FieldFacts]:
        return {raw["name"]: field_facts(raw) for raw in self.get("fields", ())}


def describe_indexed(describe: Describe) -> IndexedDescribe:
    """``describe`` with a field index (itself when it already has one)."""
    if isinstance(describe, IndexedDescribe):
        return describe
    return IndexedDescribe(describe)


def fields(describe: Describe) -> list[FieldFacts]:
    """Every field of the described object, in describe order."""
    if isinstance(describe, IndexedDescribe):
        return list(describe.field_index.values())
    return [field_facts(raw) for raw in describe.get("fields", ())]


def fields_by_name(describe: Describe) -> dict[str, FieldFacts]:
    """Every field keyed by its exact API name."""
    if isinstance(describe, IndexedDescribe):
        return describe.field_index
    return {facts.name: facts for facts in fields(describe)}


def field(describe: Describe, name: str) -> FieldFacts | None:
    """The field whose API name is exactly ``name``, or None if the object has none."""
    if isinstance(describe, IndexedDescribe):
        return describe.field_index.get(name)
    for raw in describe.get("fields", ()):
        if raw.get("name") == name:
            return field_facts(raw)
    return None


def _by_label(facts: list[FieldFacts]) -> list[FieldFacts]:
    return sorted(facts, key=lambda f: (f.label.casefold(), f.name))


def insertable_fields(describe: Describe, *, updating: bool = False) -> list[FieldFacts]:
    """Rule 6: the fields a mapping may target, sorted by label.

    Returns the fields the connected user may set on create — and also on update when
    ``updating`` (use ``WriteMode.updates``). Read-only, system, formula, auto-number,
    hidden and compound fields never appear; the describe flags decide.
    """
    return _by_label([f for f in fields(describe) if f.insertable(updating=updating)])


def updateable_fields(describe: Describe) -> list[FieldFacts]:
    """Rule 6 for write-backs: the fields the connected user may UPDATE on an existing
    record, sorted by label. Formula, auto-number, hidden, compound and system fields never
    appear; nor do ids and references (a write-back sets fixed values, never links)."""
    return _by_label(
        [
            f
            for f in fields(describe)
            if f.updateable
            and not (f.calculated or f.auto_number or f.hidden)
            and f.type not in COMPOUND_TYPES
            and f.type not in ("id", "reference")
        ]
    )


def required_on_create(describe: Describe) -> list[FieldFacts]:
    """Rule 5: the fields Salesforce refuses to create a record without, sorted by label."""
    return _by_label([f for f in fields(describe) if f.required_on_create])


def external_id_fields(describe: Describe) -> list[FieldFacts]:
    """Fields usable as the key of an upsert, sorted by label.

    An upsert key is an ``externalId`` field, or a custom ``idLookup`` field that is
    ``unique`` (a non-unique key can match several records and needs "View All Data").
    The record ``Id`` is never offered: LeadSync keys upserts on its own booking id.
    """
    return _by_label(
        [
            f
            for f in fields(describe)
            if f.type != "id"
            and f.createable
            and (f.external_id or (f.custom and f.id_lookup and f.unique))
        ]
    )

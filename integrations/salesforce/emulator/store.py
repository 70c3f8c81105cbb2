"""Record tables with exact-value indexes, so lookups stay flat as the org grows.

A ``Table`` is a dict ``Id -> record`` that also keeps, for each indexed field, a map
``key(value) -> {Id, ...}``. Writers replace whole records (``table[id] = new``) and never
mutate a stored dict in place, so the indexes follow every create, update, delete and
rollback without extra bookkeeping. External-id, unique and idLookup fields are indexed
(upsert, DUPLICATE_VALUE and ``Email IN (...)`` lookups), plus the fields duplicate
matching narrows candidates by (duplicates.py).
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable, Iterable
from typing import Any

KeyFn = Callable[[Any], Any]
_NOT_DIGIT = re.compile(r"\D")


def fold(value: Any) -> Any:
    """Case-insensitive key (Salesforce compares text fields ignoring case by default)."""
    return value.casefold() if isinstance(value, str) else value


def exact(value: Any) -> Any:
    return value


def phone_key(value: Any) -> Any:
    """Digits only: ``+44 (20) 7946-0000`` and ``442079460000`` are one phone number."""
    return _NOT_DIGIT.sub("", value) or None if isinstance(value, str) else value


class Table(dict):
    """Records of one object by Id, with ``lookup(field, value)`` through an index."""

    def __init__(self, indexed: dict[str, KeyFn]) -> None:
        super().__init__()
        self.indexed: dict[str, KeyFn] = {}
        self.index: dict[str, dict[Any, set[str]]] = {}
        self.reindex(indexed)

    def reindex(self, indexed: dict[str, KeyFn]) -> None:
        """Rebuild the indexes for a new set of indexed fields (after a schema change)."""
        self.indexed = dict(indexed)
        self.index = {name: {} for name in self.indexed}
        for record in self.values():
            self._add(record)

    def is_indexed(self, field_name: str) -> bool:
        return field_name in self.indexed

    def lookup(self, field_name: str, value: Any) -> list[dict[str, Any]]:
        """Records whose field has the value under the index's key; field must be indexed."""
        key = self.indexed[field_name](value)
        if key is None or key == "":
            return []
        ids = self.index[field_name].get(key, ())
        return [self[record_id] for record_id in sorted(ids)]

    def lookup_many(self, field_name: str, values: Iterable[Any]) -> list[dict[str, Any]]:
        """Records matching any of the values, each once, in Id order."""
        found: dict[str, dict[str, Any]] = {}
        for value in values:
            for record in self.lookup(field_name, value):
                found[record["Id"]] = record
        return [found[record_id] for record_id in sorted(found)]

    # -- dict protocol, kept in step with the indexes -------------------------------------------

    def __setitem__(self, record_id: str, record: dict[str, Any]) -> None:
        old = super().get(record_id)
        if old is not None:
            self._remove(old)
        super().__setitem__(record_id, record)
        self._add(record)

    def __delitem__(self, record_id: str) -> None:
        self._remove(self[record_id])
        super().__delitem__(record_id)

    _MISSING = object()

    def pop(self, record_id: str, default: Any = _MISSING) -> Any:
        if record_id not in self:
            if default is Table._MISSING:
                raise KeyError(record_id)
            return default
        record = self[record_id]
        del self[record_id]
        return record

    def clear(self) -> None:
        super().clear()
        self.index = {name: {} for name in self.indexed}

    def update(self, *args: Any, **kwargs: Any) -> None:  # type: ignore[override]
        for record_id, record in dict(*args, **kwargs).items():
            self[record_id] = record

    def setdefault(self, *args: Any) -> Any:  # pragma: no cover - guard only
        raise TypeError("Table.setdefault would bypass the indexes")

    # -- internals ---------------------------------------------------------------------------

    def _add(self, record: dict[str, Any]) -> None:
        for name, key_fn in self.indexed.items():
            key = key_fn(record.get(name))
            if key is not None and key != "":
                self.index[name].setdefault(key, set()).add(record["Id"])

    def _remove(self, record: dict[str, Any]) -> None:
        for name, key_fn in self.indexed.items():
            key = key_fn(record.get(name))
            bucket = self.index[name].get(key)
            if bucket is not None:
                bucket.discard(record["Id"])
                if not bucket:
                    del self.index[name][key]


# Lead/Contact "Name" is a compound of FirstName + LastName (describe extraTypeInfo personname).
_PERSON_NAME_PARTS = ("FirstName", "LastName")


def system_fields(schema: Any, obj: str, *, now: str, user_id: str) -> dict[str, Any]:
    """Describe defaults and audit fields a new record gets (owner: the calling user)."""
    record: dict[str, Any] = {}
    for field in schema.fields(obj):
        default = _default_value(field)
        if default is not None:
            record[field["name"]] = default
    system = {
        "IsDeleted": False,
        "OwnerId": user_id,
        "CreatedById": user_id,
        "LastModifiedById": user_id,
        "CreatedDate": now,
        "LastModifiedDate": now,
        "SystemModstamp": now,
    }
    for name, value in system.items():
        if schema.field(obj, name) is not None:
            record[name] = value
    return record


def derive_fields(schema: Any, obj: str, record: dict[str, Any]) -> None:
    """Recompute derived fields in place (the person Name of Lead/Contact/User)."""
    name_field = schema.field(obj, "Name")
    personname = name_field and name_field.get("extraTypeInfo") == "personname"
    if personname or (obj == "User" and name_field):
        parts = [record.get(part) for part in _PERSON_NAME_PARTS]
        record["Name"] = " ".join(p for p in parts if p)


def _default_value(field: dict[str, Any]) -> Any:
    if not field.get("defaultedOnCreate") or not field.get("createable"):
        return None
    if field["type"] == "boolean":
        return bool(field.get("defaultValue"))
    for option in field.get("picklistValues") or []:
        if option.get("defaultValue") and option.get("active"):
            return option["value"]
    default = field.get("defaultValue")
    return copy.deepcopy(default) if default is not None and field["type"] != "reference" else None

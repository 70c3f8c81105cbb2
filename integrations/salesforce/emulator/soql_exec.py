"""Running a parsed SOQL query against the org's tables.

Field paths are resolved against the schema while parsing (``Resolver``), so an unknown
field or relationship is INVALID_FIELD before anything runs. A relationship path follows
the reference field whose ``relationshipName`` it names (``Owner`` -> ``OwnerId``) to the
record the id points at, whatever its object (polymorphic ``Owner`` is a User or a queue).

A WHERE whose top level (or one AND-ed part of it) is ``=`` or ``IN`` on an indexed field
(external ids, unique and idLookup fields such as Email) reads its candidates from the
index; everything else scans the table. String compares ignore case, as SOQL does.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from .ids import looks_like_id, to_18
from .responses import rest_error
from .soql_dates import DateRange, field_moment
from .soql_parse import BoolOp, Comparison, Parser, Query, Token, error

_NO_COLUMN = (
    "No such column '{name}' on entity '{obj}'. If you are attempting to use a custom field, "
    "be sure to append the '__c' after the custom field name. Please reference your WSDL or "
    "the describe call for the appropriate names."
)
_NO_RELATION = (
    "Didn't understand relationship '{name}' in field path. If you are attempting to use a "
    "custom relationship, be sure to append the '__r' after the custom relationship name. "
    "Please reference your WSDL or the describe call for the appropriate names."
)
_NO_TYPE = (
    "sObject type '{obj}' is not supported. If you are attempting to use a custom object, be "
    "sure to append the '__c' after the entity name. Please reference your WSDL or the "
    "describe call for the appropriate names."
)


class Resolver:
    """Schema lookups for the parser: objects, field paths and their types."""

    def __init__(self, org: Any) -> None:
        self.org = org
        self.schema = org.schema
        self.now = datetime.fromtimestamp(org.now(), tz=UTC)

    def object(self, soql: str, token: Token) -> str:
        obj = self.schema.object_name(token.text) if token.kind == "word" else None
        if obj is None:
            raise error("INVALID_TYPE", soql, token.pos, _NO_TYPE.format(obj=token.text))
        return obj

    def path(self, soql: str, obj: str, token: Token) -> list[str]:
        """Canonical path for ``Name`` or ``Owner.Name``; raises INVALID_FIELD."""
        parts = token.text.split(".") if token.kind == "word" else [token.text]
        if len(parts) > 1 and self.schema.object_name(parts[0]) == obj:
            parts = parts[1:]  # "Lead.Email" in a query on Lead
        out, current = [], [obj]
        for index, part in enumerate(parts):
            last = index == len(parts) - 1
            if last:
                field = self._field(current, part)
                if field is None:
                    reason = _NO_COLUMN.format(name=part, obj=current[0])
                    raise error("INVALID_FIELD", soql, token.pos, reason)
                out.append(field["name"])
                return out
            reference = self._relationship(current, part)
            if reference is None:
                raise error("INVALID_FIELD", soql, token.pos, _NO_RELATION.format(name=part))
            out.append(reference["relationshipName"])
            current = [o for o in reference["referenceTo"] if self.schema.object_name(o)]
            if not current:
                raise error("INVALID_FIELD", soql, token.pos, _NO_RELATION.format(name=part))
        return out

    def _field(self, objects: list[str], name: str) -> dict[str, Any] | None:
        for obj in objects:
            field = self.schema.field(obj, name)
            if field is not None:
                return field
        return None

    def _relationship(self, objects: list[str], name: str) -> dict[str, Any] | None:
        for obj in objects:
            for field in self.schema.fields(obj):
                rel = field.get("relationshipName")
                if field["type"] == "reference" and rel and rel.lower() == name.lower():
                    return field
        return None

    def field_type(self, obj: str, path: list[str]) -> str:
        """The describe type at the end of a resolved path (``Owner.CreatedDate``: datetime)."""
        objects = [obj]
        for part in path[:-1]:
            reference = self._relationship(objects, part)
            objects = [o for o in reference["referenceTo"] if self.schema.object_name(o)]
        return self._field(objects, path[-1])["type"]


def parse(org: Any, soql: str) -> Query:
    """Parse against the org's schema; raises RestError 400 (MALFORMED_QUERY & co.)."""
    if not soql or not soql.strip():
        raise rest_error(400, "MALFORMED_QUERY", "A query string has to be specified")
    return Parser(soql.strip(), Resolver(org)).parse()


# -- evaluation --------------------------------------------------------------------------------


def follow(org: Any, obj: str, record: dict[str, Any], path: list[str]) -> Any:
    """The value at a path: a field, or a field of the record a relationship points at."""
    if len(path) == 1:
        return record.get(path[0])
    target = related(org, obj, record, path[0])
    if target is None:
        return None
    return follow(org, target[0], target[1], path[1:])


def related(org: Any, obj: str, record: dict[str, Any], relationship: str):
    """(object, record) the relationship of record points at, or None."""
    for field in org.schema.fields(obj):
        if field["type"] == "reference" and field.get("relationshipName") == relationship:
            value = record.get(field["name"])
            target = org.schema.object_for_id(value) if isinstance(value, str) else None
            if target is None:
                return None
            row = org.records[target].get(value)
            return (target, row) if row is not None else None
    return None


def _text(value: Any) -> Any:
    return value.casefold() if isinstance(value, str) else value


def _like(pattern: str) -> re.Pattern[str]:
    out, escaped = [], False
    for char in pattern:
        if escaped:
            out.append(re.escape(char))
            escaped = False
        elif char == "\\":
            escaped = True
        elif char == "%":
            out.append(".*")
        elif char == "_":
            out.append(".")
        else:
            out.append(re.escape(char))
    return re.compile("".join(out), re.IGNORECASE | re.DOTALL)


def _compare(op: str, actual: Any, expected: Any) -> bool:
    if isinstance(expected, DateRange):
        moment = field_moment(actual)
        return moment is not None and expected.compare(op, moment)
    if looks_like_id(expected) and looks_like_id(actual):  # 15- and 18-char ids are equal
        expected, actual = to_18(expected), to_18(actual)
    if op in ("=", "!="):
        if isinstance(expected, float) and isinstance(actual, (int, float)):
            same = not isinstance(actual, bool) and float(actual) == expected
        else:
            same = _text(actual) == _text(expected)
        return same == (op == "=")
    if actual is None or expected is None:
        return False  # null never orders against a value
    left, right = _text(actual), _text(expected)
    if isinstance(right, float) and isinstance(left, (int, float)):
        left = float(left)
    if type(left) is not type(right):
        return False
    return {"<": left < right, "<=": left <= right, ">": left > right, ">=": left >= right}[op]


def matches(org: Any, obj: str, record: dict[str, Any], node: Any) -> bool:
    if node is None:
        return True
    if isinstance(node, BoolOp):
        if node.op == "NOT":
            return not matches(org, obj, record, node.parts[0])
        results = (matches(org, obj, record, part) for part in node.parts)
        return all(results) if node.op == "AND" else any(results)
    actual = follow(org, obj, record, node.path)
    if node.op == "IN":
        found = any(_compare("=", actual, value) for value in node.value)
        return found != node.negate
    if node.op == "LIKE":
        found = isinstance(actual, str) and _like(node.value).fullmatch(actual) is not None
        return found != node.negate
    return _compare(node.op, actual, node.value)


def _indexed_candidates(org: Any, query: Query) -> list[dict[str, Any]] | None:
    """Rows from an index when the WHERE pins an indexed field; None to scan."""
    node = query.where
    parts = node.parts if isinstance(node, BoolOp) and node.op == "AND" else [node]
    table = org.records[query.obj]
    for part in parts:
        if not isinstance(part, Comparison) or len(part.path) != 1 or part.negate:
            continue
        name = part.path[0]
        if name == "Id" and part.op in ("=", "IN"):
            values = part.value if part.op == "IN" else [part.value]
            ids = {to_18(v) for v in values if looks_like_id(v)}
            return [table[i] for i in sorted(ids) if i in table]
        if table.is_indexed(name) and part.op in ("=", "IN"):
            values = part.value if part.op == "IN" else [part.value]
            return table.lookup_many(name, [v for v in values if v is not None])
    return None


def _sort_key(value: Any) -> Any:
    if isinstance(value, str):
        return value.casefold()
    return value


def run(org: Any, query: Query, *, include_deleted: bool = False) -> list[dict[str, Any]]:
    """Filtered, ordered, offset and limited raw records of the query's object."""
    candidates = _indexed_candidates(org, query)
    if candidates is None:
        candidates = list(org.records[query.obj].values())
    if include_deleted:
        candidates += list(org.deleted[query.obj].values())
    rows = [row for row in candidates if matches(org, query.obj, row, query.where)]
    for path, descending, nulls_last in reversed(query.order_by):
        present = [r for r in rows if follow(org, query.obj, r, path) is not None]
        absent = [r for r in rows if follow(org, query.obj, r, path) is None]
        present.sort(key=lambda r: _sort_key(follow(org, query.obj, r, path)), reverse=descending)
        rows = present + absent if nulls_last else absent + present
    rows = rows[query.offset :]
    return rows[: query.limit] if query.limit is not None else rows


def view(org: Any, version: str, obj: str, record: dict[str, Any], paths: list[list[str]]):
    """A query row: ``attributes``, then the selected fields; relationships nest."""
    out: dict[str, Any] = {"attributes": _attributes(version, obj, record["Id"])}
    for path in paths:
        _put(org, version, out, obj, record, path)
    return out


def _attributes(version: str, obj: str, record_id: str) -> dict[str, str]:
    return {"type": obj, "url": f"/services/data/v{version}/sobjects/{obj}/{record_id}"}


def _put(org, version, out, obj, record, path) -> None:
    if len(path) == 1:
        field = org.schema.field(obj, path[0])
        if field and field["type"] == "address":
            out[path[0]] = address(org.schema.fields(obj), path[0], record)
        else:
            out[path[0]] = record.get(path[0])
        return
    target = related(org, obj, record, path[0])
    if target is None:
        out.setdefault(path[0], None)
        return
    nested = out.get(path[0]) or {"attributes": _attributes(version, target[0], target[1]["Id"])}
    out[path[0]] = nested
    _put(org, version, nested, target[0], target[1], path[1:])


def address(fields: list[dict[str, Any]], name: str, record: dict[str, Any]) -> dict | None:
    """Compound address built from its component fields (null when all are empty)."""
    prefix = name[: -len("Address")]
    parts = {}
    for field in fields:
        if field.get("compoundFieldName") == name:
            key = field["name"][len(prefix) :]
            parts[key[0].lower() + key[1:]] = record.get(field["name"])
    return parts if any(v is not None for v in parts.values()) else None

"""Query endpoints: ``query``, ``queryAll``, cursor pages, and SOSL ``search``.

Query results are paged (REST API Developer Guide, "Query" and "Query Options Header"):
at most ``batchSize`` rows per response, default and maximum 2,000, minimum 200, set by
``Sforce-Query-Options: batchSize=n``. A response that is not the last has
``done: false`` and ``nextRecordsUrl: /services/data/vXX.X/query/<locator>-<offset>``;
``GET`` on it returns the next page. ``totalSize`` is the whole result's size on every
page. ``queryAll`` also returns deleted records (``IsDeleted: true``). Rows are fixed
when the query runs (later writes do not change later pages).
"""

from __future__ import annotations

import re
from typing import Any

from werkzeug.wrappers import Response

from . import soql_exec
from .ids import make_id
from .responses import RestError, json_response, rest_error
from .rest import Ctx

DEFAULT_BATCH, MIN_BATCH = 2000, 200
# Open query cursors kept per org; the oldest is dropped first, like Salesforce's per-user
# cursor limit (a dropped locator answers INVALID_QUERY_LOCATOR).
MAX_CURSORS = 50
_LOCATOR_RE = re.compile(r"^(01g[0-9A-Za-z]{15})-(\d+)$")
_BATCH_RE = re.compile(r"batchSize\s*=\s*(\d+)", re.IGNORECASE)


def batch_size(ctx: Ctx) -> int:
    """The page size a request asks for, clamped to Salesforce's 200..2,000."""
    found = _BATCH_RE.search(ctx.request.headers.get("Sforce-Query-Options", ""))
    if not found:
        return DEFAULT_BATCH
    return max(MIN_BATCH, min(DEFAULT_BATCH, int(found.group(1))))


def query(ctx: Ctx) -> Response:
    return _first_page(ctx, include_deleted=False)


def query_all(ctx: Ctx) -> Response:
    return _first_page(ctx, include_deleted=True)


def _first_page(ctx: Ctx, *, include_deleted: bool) -> Response:
    org = ctx.org
    parsed = soql_exec.parse(org, ctx.request.args.get("q", ""))
    rows = soql_exec.run(org, parsed, include_deleted=include_deleted)
    if parsed.count_only:
        return json_response({"totalSize": len(rows), "done": True, "records": []})
    cursor = {
        "obj": parsed.obj,
        "paths": parsed.fields,
        "rows": rows,
        "batch": batch_size(ctx),
        "resource": "queryAll" if include_deleted else "query",
    }
    return _page(ctx, cursor, 0)


def next_page(ctx: Ctx, cursor: str) -> Response:
    """``GET query/<locator>-<offset>`` (and under queryAll)."""
    found = _LOCATOR_RE.match(cursor)
    state = ctx.org.cursors.get(found.group(1)) if found else None
    if state is None or int(found.group(2)) >= len(state["rows"]):
        raise rest_error(400, "INVALID_QUERY_LOCATOR", "invalid query locator")
    return _page(ctx, state, int(found.group(2)), locator=found.group(1))


def _page(ctx: Ctx, cursor: dict[str, Any], start: int, locator: str | None = None) -> Response:
    org = ctx.org
    rows = cursor["rows"]
    end = start + cursor["batch"]
    records = [
        soql_exec.view(org, ctx.version, cursor["obj"], row, cursor["paths"])
        for row in rows[start:end]
    ]
    body: dict[str, Any] = {"totalSize": len(rows), "done": end >= len(rows)}
    if end < len(rows):
        locator = locator or _open_cursor(org, cursor)
        body["nextRecordsUrl"] = ctx.url(f"{cursor['resource']}/{locator}-{end}")
    elif locator:
        org.cursors.pop(locator, None)  # the last page closes the cursor
    body["records"] = records
    return json_response(body)


def _open_cursor(org: Any, cursor: dict[str, Any]) -> str:
    org.cursor_number += 1
    locator = make_id("01g", 3_000_000 + org.cursor_number)[:15] + "AAA"
    org.cursors[locator] = cursor
    while len(org.cursors) > MAX_CURSORS:
        org.cursors.pop(next(iter(org.cursors)))
    return locator


# -- SOSL ----------------------------------------------------------------------------------------

_SOSL_RE = re.compile(
    r"^\s*FIND\s+\{(?P<term>(?:[^}\\]|\\.)*)\}"
    r"(?:\s+IN\s+(?P<scope>ALL|EMAIL|NAME|PHONE)\s+FIELDS)?"
    r"(?:\s+RETURNING\s+(?P<returning>.+?))?"
    r"(?:\s+LIMIT\s+(?P<limit>\d+))?\s*$",
    re.IGNORECASE | re.DOTALL,
)
_RETURNING_RE = re.compile(r"\s*(?P<obj>\w+)\s*(?:\((?P<fields>[^)]*)\))?\s*(?:,|$)")
SEARCHED = ("Lead", "Contact")  # what FIND searches without RETURNING (LeadSync's people)
_SCOPE_TYPES = {"EMAIL": {"email"}, "PHONE": {"phone"}}
_NAME_FIELDS = {"Name", "FirstName", "LastName", "Company", "Title"}


def search(ctx: Ctx) -> Response:
    """``GET search?q=FIND {term} [IN EMAIL|NAME|PHONE|ALL FIELDS] [RETURNING Obj(f, ...)]``.

    Answers ``{"searchRecords": [...]}`` (REST API Developer Guide, "Search"). A term
    matches a field whose whole value, or one of its words, equals it ignoring case; a
    trailing ``*`` matches a prefix. RETURNING options other than a field list (WHERE,
    ORDER BY, LIMIT inside the brackets) fail with MALFORMED_SEARCH.
    """
    sosl = ctx.request.args.get("q", "")
    found = _SOSL_RE.match(sosl)
    if not found or not found.group("term").strip():
        raise _malformed(f"unsupported or malformed search: {sosl}")
    term = re.sub(r"\\(.)", r"\1", found.group("term")).strip().casefold()
    scope = (found.group("scope") or "ALL").upper()
    targets = _returning(ctx, found.group("returning"))
    limit = int(found.group("limit")) if found.group("limit") else 2000
    out = []
    for obj, paths in targets:
        for row in _search_object(ctx.org, obj, scope, term):
            out.append(soql_exec.view(ctx.org, ctx.version, obj, row, paths))
    return json_response({"searchRecords": out[:limit]})


def _malformed(message: str) -> RestError:
    return rest_error(400, "MALFORMED_SEARCH", message)


def _returning(ctx: Ctx, text: str | None) -> list[tuple[str, list[list[str]]]]:
    if not text:
        return [(obj, [["Id"]]) for obj in SEARCHED]
    resolver = soql_exec.Resolver(ctx.org)
    out, pos = [], 0
    while pos < len(text):
        item = _RETURNING_RE.match(text, pos)
        if not item or item.end() == pos:
            raise _malformed(f"unexpected RETURNING clause: {text[pos:]}")
        pos = item.end()
        obj = ctx.org.schema.object_name(item.group("obj"))
        if obj is None:
            raise _malformed(f"sObject type '{item.group('obj')}' is not supported.")
        names = [n.strip() for n in (item.group("fields") or "Id").split(",") if n.strip()]
        paths = []
        for name in names:
            if " " in name:
                raise _malformed(f"RETURNING {obj}({item.group('fields')}) is not supported")
            token = soql_exec.Token("word", name, 0)
            try:
                paths.append(resolver.path(text, obj, token))
            except RestError:
                raise _malformed(f"No such column '{name}' on entity '{obj}'") from None
        out.append((obj, paths))
    return out


def _search_object(org: Any, obj: str, scope: str, term: str) -> list[dict[str, Any]]:
    fields = [f for f in org.schema.fields(obj) if _in_scope(f, scope)]
    table = org.records[obj]
    if scope == "EMAIL" and "*" not in term and table.is_indexed("Email"):
        return table.lookup("Email", term)  # the common case stays an index lookup
    prefix = term.endswith("*")
    wanted = term.rstrip("*")
    hits = []
    for row in table.values():
        for field in fields:
            value = row.get(field["name"])
            if isinstance(value, str) and _term_matches(value.casefold(), wanted, prefix):
                hits.append(row)
                break
    return hits


def _in_scope(field: dict[str, Any], scope: str) -> bool:
    if scope in _SCOPE_TYPES:
        return field["type"] in _SCOPE_TYPES[scope]
    if scope == "NAME":
        return field["name"] in _NAME_FIELDS
    return field["type"] in ("string", "email", "phone", "textarea", "url", "picklist")


def _term_matches(value: str, wanted: str, prefix: bool) -> bool:
    words = [value, *re.split(r"[^\w@.+-]+", value)]
    return any(word.startswith(wanted) if prefix else word == wanted for word in words if word)

"""REST data endpoints under ``/services/data/vNN.N/`` (reference §3).

Handlers run under ``org.lock`` after ``app.py`` has authenticated the call, applied
faults and counted it against the daily limit. Each takes a ``Ctx`` and the URL values
and returns a werkzeug Response or raises RestError.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from werkzeug.wrappers import Request, Response

from . import duplicates, soql_exec
from .dml import Writer
from .ids import looks_like_id, to_18
from .org import Org
from .responses import RestError, empty_response, json_response, not_found, read_json, rest_error

MIN_VERSION, MAX_VERSION = 20, 60
SEASONS = ("Winter", "Spring", "Summer")


@dataclass
class Ctx:
    """One authenticated REST call."""

    org: Org
    request: Request
    version: str  # "59.0"
    lock_fault: bool = False  # fault: collections answer per-record UNABLE_TO_LOCK_ROW
    timeout_after_write: bool = False  # fault: delay the response after the write commits
    # Composite: one Writer for every subrequest (allOrNone rolls them back together),
    # and the runner app.py supplies for subrequests: (ctx, method, url, body) -> Response.
    shared_writer: Writer | None = None
    subrequest: Callable[..., Response] | None = None

    @property
    def major(self) -> int:
        return int(self.version.split(".")[0])

    def writer(self) -> Writer:
        """A Writer honouring the request's Sforce-Duplicate-Rule-Header and
        Sforce-Auto-Assign headers (duplicates.py, assignment.py)."""
        if self.shared_writer is not None:
            return self.shared_writer
        headers = self.request.headers
        # The duplicate rule header exists from API v52.0; older versions ignore it.
        duplicate_header = (
            headers.get("Sforce-Duplicate-Rule-Header", "") if self.major >= 52 else ""
        )
        return Writer(
            self.org,
            version=self.version,
            duplicate_header=duplicates.parse_header(duplicate_header),
            auto_assign=headers.get("Sforce-Auto-Assign"),
        )

    def url(self, tail: str) -> str:
        return f"/services/data/v{self.version}/{tail}"


def parse_version(segment: str) -> str:
    """``v59.0`` -> ``59.0``; 404 NOT_FOUND for anything not served."""
    major = segment[1:-2]
    shaped = segment.startswith("v") and segment.endswith(".0") and major.isdigit()
    if shaped and MIN_VERSION <= int(major) <= MAX_VERSION:
        return segment[1:]
    raise not_found()


def versions() -> list[dict[str, str]]:
    """``GET /services/data/``: every served version with its release label."""
    out = []
    for major in range(MIN_VERSION, MAX_VERSION + 1):
        index = major - MIN_VERSION  # v20.0 was Winter '11; three releases a year
        label = f"{SEASONS[index % 3]} '{11 + index // 3}"
        out.append({"label": label, "url": f"/services/data/v{major}.0", "version": f"{major}.0"})
    return out


def record_view(
    ctx: Ctx, obj: str, record: dict[str, Any], names: list[str] | None = None
) -> dict[str, Any]:
    """A record as GET and query return it: ``attributes`` first, then fields in order."""
    fields = ctx.org.schema.fields(obj)
    view: dict[str, Any] = {
        "attributes": {"type": obj, "url": ctx.url(f"sobjects/{obj}/{record['Id']}")}
    }
    wanted = {name.lower() for name in names} if names is not None else None
    for field in fields:
        if wanted is not None and field["name"].lower() not in wanted:
            continue
        if field["type"] == "address":
            view[field["name"]] = soql_exec.address(fields, field["name"], record)
        else:
            view[field["name"]] = record.get(field["name"])
    if names is not None:  # keep the caller's order, as SOQL does
        view = {"attributes": view["attributes"], **{n: view[n] for n in names}}
    return view


# -- handlers ------------------------------------------------------------------------------


RESOURCES = ("sobjects", "query", "queryAll", "search", "limits", "composite")


def resources(ctx: Ctx) -> Response:
    """``GET /services/data/vXX.X``: the served resources plus the caller's ``identity``
    URL, as Salesforce lists it (REST API Developer Guide, "Resources by Version")."""
    body = {name: ctx.url(name) for name in RESOURCES}
    body["identity"] = f"{ctx.org.base_url}/id/{ctx.org.org_id}/{ctx.org.user_id}"
    return json_response(dict(sorted(body.items())))


def describe_global(ctx: Ctx) -> Response:
    return json_response(ctx.org.schema.global_describe)


def describe(ctx: Ctx, obj: str) -> Response:
    return json_response(ctx.org.schema.describe(ctx.org.schema.require_object(obj)))


def sobject_basic(ctx: Ctx, obj: str) -> Response:
    """``GET /sobjects/Lead``: basic info, a subset of describe without fields."""
    name = ctx.org.schema.require_object(obj)
    describe_ = ctx.org.schema.describe(name)
    summary = {k: v for k, v in describe_.items() if k not in ("fields", "childRelationships")}
    return json_response({"objectDescribe": summary, "recentItems": []})


def create(ctx: Ctx, obj: str) -> Response:
    name = ctx.org.schema.require_object(obj)
    new_id = ctx.writer().create(name, read_json(ctx.request))
    body = {"id": new_id, "success": True, "errors": []}
    return json_response(body, 201, headers={"Location": ctx.url(f"sobjects/{name}/{new_id}")})


def _existing(ctx: Ctx, obj: str, record_id: str) -> tuple[str, str]:
    name = ctx.org.schema.require_object(obj)
    if not looks_like_id(record_id) or not record_id.startswith(ctx.org.schema.key_prefix(name)):
        raise not_found()
    return name, to_18(record_id)


def get_record(ctx: Ctx, obj: str, record_id: str) -> Response:
    name, record_id = _existing(ctx, obj, record_id)
    record = ctx.org.records[name].get(record_id)
    if record is None:
        raise not_found()
    return json_response(record_view(ctx, name, record, _requested_fields(ctx, name)))


def _requested_fields(ctx: Ctx, obj: str) -> list[str] | None:
    """``?fields=A,B`` on GET by id; unknown names fail like Salesforce (INVALID_FIELD)."""
    raw = ctx.request.args.get("fields")
    if not raw:
        return None
    names = []
    for item in raw.split(","):
        field = ctx.org.schema.field(obj, item.strip())
        if field is None:
            raise rest_error(
                400, "INVALID_FIELD", f"No such column '{item.strip()}' on entity '{obj}'"
            )
        names.append(field["name"])
    return names


def update_record(ctx: Ctx, obj: str, record_id: str) -> Response:
    name, record_id = _existing(ctx, obj, record_id)
    ctx.writer().update(name, record_id, read_json(ctx.request) or {})
    return empty_response(204)


def delete_record(ctx: Ctx, obj: str, record_id: str) -> Response:
    name, record_id = _existing(ctx, obj, record_id)
    ctx.writer().delete(name, record_id)
    return empty_response(204)


def _external_field(ctx: Ctx, obj: str, field_name: str) -> tuple[str, str]:
    """(object, field) for an upsert key; 404 NOT_FOUND when it is not an external id."""
    name = ctx.org.schema.require_object(obj)
    field = ctx.org.schema.field(name, field_name)
    if field is None or not (field.get("externalId") or field["name"] == "Id"):
        raise not_found()
    return name, field["name"]


def upsert(ctx: Ctx, obj: str, ext_field: str, ext_value: str) -> Response:
    """201 created / 200 (v46+) or 204 (v45-) updated / 300 several matches (reference §3)."""
    name, field = _external_field(ctx, obj, ext_field)
    update_only = ctx.request.args.get("updateOnly", "").lower() == "true"
    try:
        record_id, created = ctx.writer().upsert(
            name, field, ext_value, read_json(ctx.request) or {}, update_only=update_only
        )
    except RestError as exc:
        if exc.status == 300:
            return json_response(exc.errors, 300)
        raise
    body: dict[str, Any] = {"id": record_id, "success": True, "errors": []}
    if created:
        if ctx.major >= 46:
            body["created"] = True
        headers = {"Location": ctx.url(f"sobjects/{name}/{record_id}")}
        return json_response(body, 201, headers=headers)
    if ctx.major < 46:
        return empty_response(204)
    return json_response(dict(body, created=False), 200)


def get_by_external(ctx: Ctx, obj: str, ext_field: str, ext_value: str) -> Response:
    name, field = _external_field(ctx, obj, ext_field)
    matches = ctx.org.find_by_field(name, field, ext_value)
    if not matches:
        raise not_found()
    if len(matches) > 1:
        return json_response([ctx.url(f"sobjects/{name}/{m['Id']}") for m in matches], 300)
    return json_response(record_view(ctx, name, matches[0]))


def limits(ctx: Ctx) -> Response:
    """``GET /limits/``: DailyApiRequests from the live counter, the rest static."""
    org = ctx.org
    remaining = max(org.api_limit - org.api_used, 0)
    daily = {"Max": org.api_limit, "Remaining": remaining}
    daily[org.app.name] = {"Max": 0, "Remaining": 0}
    body = {
        "ConcurrentAsyncGetReportInstances": {"Max": 200, "Remaining": 200},
        "DailyApiRequests": daily,
        "DailyAsyncApexExecutions": {"Max": 250000, "Remaining": 250000},
        "DailyBulkApiBatches": {"Max": 15000, "Remaining": 15000},
        "DailyBulkApiRequests": {"Max": 5000, "Remaining": 5000},
        "DataStorageMB": {"Max": 5, "Remaining": 5},
        "FileStorageMB": {"Max": 20, "Remaining": 20},
        "HourlyTimeBasedWorkflow": {"Max": 50, "Remaining": 50},
        "SingleEmail": {"Max": 15, "Remaining": 15},
    }
    return json_response(body)

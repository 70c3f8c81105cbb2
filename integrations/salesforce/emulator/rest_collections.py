"""sObject Collections: ``/composite/sobjects`` create (POST), update (PATCH) and delete
(DELETE ``?ids=``), ``/composite/sobjects/{Obj}`` retrieve (POST ``{"ids", "fields"}`` or
GET ``?ids=&fields=``) and ``/composite/sobjects/{Obj}/{ExtField}`` upsert (reference §3;
REST API Developer Guide, "sObject Collections").

The whole request is one API call. Results come back in request order; per-record
errors use ``statusCode`` (not ``errorCode``) and always carry ``fields``. With
allOrNone, one failure rolls every write back and the siblings get
ALL_OR_NONE_OPERATION_ROLLED_BACK.

Field-level problems (unknown field, wrong JSON type) are reported per record here,
so a client can attribute them to one booking [inf: not captured either way].
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from werkzeug.wrappers import Response

from .dml import Writer
from .ids import looks_like_id, to_18
from .org import LOCK_MESSAGE
from .responses import RestError, json_response, read_json, rest_error, sf_error
from .rest import Ctx, _external_field, record_view

MAX_RECORDS = 200
ROLLED_BACK = (
    "Record rolled back because not all records were valid and the request was using "
    "AllOrNone header"
)


def _collection_error(error: dict[str, Any]) -> dict[str, Any]:
    """REST error entry -> per-record entry: statusCode first, fields always present.

    DUPLICATES_DETECTED: the single-record body's misspelled ``duplicateResut`` becomes
    ``duplicateResult`` here, the name of the DuplicateError field Collections serialises
    (Object Reference "DuplicateResult"; clients read both, e.g. jsforce users) [inf].
    """
    out = {"statusCode": error["errorCode"], "message": error["message"]}
    out["fields"] = error.get("fields", [])
    for key, value in error.items():
        if key not in ("errorCode", "message", "fields"):
            out["duplicateResult" if key == "duplicateResut" else key] = value
    return out


def _body(ctx: Ctx) -> tuple[bool, list[dict[str, Any]]]:
    body = read_json(ctx.request)
    if not isinstance(body, dict) or not isinstance(body.get("records"), list):
        raise rest_error(400, "JSON_PARSER_ERROR", "Expected an object with a records array")
    records = body["records"]
    if len(records) > MAX_RECORDS:
        raise rest_error(
            400,
            "EXCEEDED_ID_LIMIT",
            f"record limit reached. cannot submit more than {MAX_RECORDS} records into this call",
        )
    for record in records:
        if not isinstance(record, dict):
            raise rest_error(400, "JSON_PARSER_ERROR", "Each record must be a JSON object")
    return bool(body.get("allOrNone", False)), records


def _record_type(ctx: Ctx, record: dict[str, Any]) -> str:
    attributes = record.get("attributes") or {}
    obj = ctx.org.schema.object_name(str(attributes.get("type", "")))
    if obj is None:
        raise RestError(400, [sf_error("INVALID_TYPE", "Must specify a valid sObject type", [])])
    return obj


def _run(
    ctx: Ctx, records: list[dict], all_or_none: bool, op: Callable[[Writer, dict], dict]
) -> Response:
    """Apply op to each record, collect per-record results, roll back if allOrNone failed."""
    if ctx.lock_fault:
        failed = {"statusCode": "UNABLE_TO_LOCK_ROW", "message": LOCK_MESSAGE, "fields": []}
        return json_response([{"success": False, "errors": [failed]} for _ in records])
    writer = ctx.writer()
    results: list[dict[str, Any]] = []
    for record in records:
        try:
            results.append(op(writer, record))
        except RestError as exc:
            errors = [_collection_error(e) for e in exc.errors]
            results.append({"success": False, "errors": errors})
    if all_or_none and not all(r["success"] for r in results):
        writer.rollback()
        rolled = {
            "statusCode": "ALL_OR_NONE_OPERATION_ROLLED_BACK",
            "message": ROLLED_BACK,
            "fields": [],
        }
        results = [
            r if not r["success"] else {"success": False, "errors": [rolled]} for r in results
        ]
    return json_response(results)


def create(ctx: Ctx) -> Response:
    """``POST /composite/sobjects``: insert; an Id in a record is an error for that record."""
    all_or_none, records = _body(ctx)

    def op(writer: Writer, record: dict) -> dict:
        obj = _record_type(ctx, record)
        new_id = writer.create(obj, record)
        return {"id": new_id, "success": True, "errors": []}

    return _run(ctx, records, all_or_none, op)


def update(ctx: Ctx) -> Response:
    """``PATCH /composite/sobjects``: update records by their Id."""
    all_or_none, records = _body(ctx)

    def op(writer: Writer, record: dict) -> dict:
        obj = _record_type(ctx, record)
        record_id = record.get("Id") or record.get("id")
        if not looks_like_id(record_id):
            raise RestError(400, [sf_error("MALFORMED_ID", f"Invalid id: {record_id}", ["Id"])])
        record_id = to_18(record_id)
        writer.update(obj, record_id, record)
        return {"id": record_id, "success": True, "errors": []}

    return _run(ctx, records, all_or_none, op)


def upsert(ctx: Ctx, obj: str, ext_field: str) -> Response:
    """``PATCH /composite/sobjects/{Obj}/{ExtField}``: results carry ``created``."""
    name, field = _external_field(ctx, obj, ext_field)
    all_or_none, records = _body(ctx)
    keys = [str(r.get(field, "")).casefold() for r in records]

    def op(writer: Writer, record: dict) -> dict:
        if _record_type(ctx, record) != name:
            raise RestError(400, [sf_error("INVALID_TYPE", f"Record type must be {name}", [])])
        value = record.get(field)
        if value in (None, ""):
            raise RestError(400, [sf_error("MISSING_ARGUMENT", f"{field} not specified", [])])
        if keys.count(str(value).casefold()) > 1:
            message = f"Duplicate external id specified: {value}"
            raise RestError(400, [sf_error("DUPLICATE_EXTERNAL_ID", message, [field])])
        matches = ctx.org.find_by_field(name, field, value)
        if len(matches) > 1:
            ids = ", ".join(m["Id"] for m in matches)
            message = f"more than one record found for external id field: [{ids}]"
            raise RestError(400, [sf_error("DUPLICATE_EXTERNAL_ID", message, [field])])
        record_id, created = writer.upsert(name, field, str(value), record)
        return {"id": record_id, "success": True, "errors": [], "created": created}

    return _run(ctx, records, all_or_none, op)


MAX_RETRIEVE = 2000


def retrieve(ctx: Ctx, obj: str) -> Response:
    """Records by id with the named fields, in request order; ``null`` for an id that
    matches no record. Unknown fields fail the call with INVALID_FIELD."""
    name = ctx.org.schema.require_object(obj)
    if ctx.request.method == "GET":
        ids = [i for i in ctx.request.args.get("ids", "").split(",") if i]
        names = [f for f in ctx.request.args.get("fields", "").split(",") if f]
    else:
        body = read_json(ctx.request)
        if not isinstance(body, dict):
            raise rest_error(400, "JSON_PARSER_ERROR", "Expected an object with ids and fields")
        ids, names = body.get("ids") or [], body.get("fields") or []
    if not ids or not names or not all(isinstance(v, str) for v in [*ids, *names]):
        raise rest_error(400, "INVALID_API_INPUT", "ids and fields are required")
    if len(ids) > MAX_RETRIEVE:
        raise rest_error(400, "EXCEEDED_ID_LIMIT", f"Too many ids; the limit is {MAX_RETRIEVE}")
    fields = []
    for item in names:
        field = ctx.org.schema.field(name, item.strip())
        if field is None:
            raise rest_error(400, "INVALID_FIELD", f"No such column '{item}' on entity '{name}'")
        fields.append(field["name"])
    table = ctx.org.records[name]
    out = []
    for record_id in ids:
        record = table.get(to_18(record_id)) if looks_like_id(record_id) else None
        out.append(record_view(ctx, name, record, fields) if record else None)
    return json_response(out)


def delete(ctx: Ctx) -> Response:
    """``DELETE /composite/sobjects?ids=a,b[&allOrNone=true]``: per-id results."""
    ids = [i for i in ctx.request.args.get("ids", "").split(",") if i]
    if not ids:
        raise rest_error(400, "INVALID_API_INPUT", "ids is required")
    if len(ids) > MAX_RECORDS:
        raise rest_error(
            400,
            "EXCEEDED_ID_LIMIT",
            f"record limit reached. cannot submit more than {MAX_RECORDS} records into this call",
        )
    all_or_none = ctx.request.args.get("allOrNone", "").lower() == "true"

    def op(writer: Writer, record_id: str) -> dict:
        if not looks_like_id(record_id):
            raise RestError(400, [sf_error("MALFORMED_ID", f"malformed id {record_id}", [])])
        full = to_18(record_id)
        obj = ctx.org.schema.object_for_id(full)
        if obj is None or (full not in ctx.org.records[obj] and full not in ctx.org.deleted[obj]):
            # [inf] The text for a well-formed id of no record is not captured.
            error = sf_error("INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id", [])
            raise RestError(400, [error])
        try:
            writer.delete(obj, full)
        except RestError as exc:
            raise RestError(400, exc.errors) from None
        return {"id": full, "success": True, "errors": []}

    return _run(ctx, ids, all_or_none, op)

"""sObject Collections: ``/composite/sobjects`` create and update, and
``/composite/sobjects/{Obj}/{ExtField}`` upsert (reference §3).

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
from .rest import Ctx, _external_field

MAX_RECORDS = 200
ROLLED_BACK = (
    "Record rolled back because not all records were valid and the request was using "
    "AllOrNone header"
)


def _collection_error(error: dict[str, Any]) -> dict[str, Any]:
    """REST error entry -> per-record entry: statusCode first, fields always present."""
    out = {"statusCode": error["errorCode"], "message": error["message"]}
    out["fields"] = error.get("fields", [])
    out.update({k: v for k, v in error.items() if k not in ("errorCode", "message", "fields")})
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

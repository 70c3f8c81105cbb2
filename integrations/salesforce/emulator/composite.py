"""Composite: ``POST /composite`` runs up to 25 REST subrequests as one API call.

Request and response follow the REST API Developer Guide ("Composite", "Composite
Subrequest Result") and reference §3:

- ``compositeRequest``: ``{method, url, referenceId, body?, httpHeaders?}``; at most 25,
  of which at most 5 are queries or sObject Collections calls; referenceIds unique.
- ``@{ref.field}`` in a later url or body is replaced by that value from ``ref``'s
  response body (``@{newLead.id}``, ``@{q.records[0].Id}``).
- The top-level status is always 200: ``{"compositeResponse": [{body, httpHeaders,
  httpStatusCode, referenceId}, ...]}``; a created record's ``Location`` is in httpHeaders.
- ``allOrNone: true``: one failed subrequest rolls every write back; the others answer
  ``400 [{"errorCode": "PROCESSING_HALTED", "message": "The transaction was rolled back
  since another operation in the same transaction failed."}]``. Without it, a subrequest
  whose reference cannot be resolved fails with PROCESSING_HALTED, the rest run.
- The request's own headers (Sforce-Duplicate-Rule-Header, Sforce-Auto-Assign,
  Sforce-Query-Options) apply to every subrequest; the call is counted once.

``collateSubrequests`` only tunes Salesforce's performance and is accepted and ignored.
"""

from __future__ import annotations

import json
import re
from typing import Any

from werkzeug.wrappers import Response

from .responses import json_response, read_json, rest_error
from .rest import Ctx

MAX_SUBREQUESTS, MAX_QUERY_OR_COLLECTION = 25, 5
HALTED = "The transaction was rolled back since another operation in the same transaction failed."
_REFERENCE = re.compile(r"@\{([A-Za-z0-9_]+)\.([^}]+)\}")
_REFERENCE_ID = re.compile(r"^[A-Za-z0-9_]+$")


class _Unresolved(Exception):
    pass


def _halted(message: str = HALTED) -> list[dict[str, str]]:
    return [{"errorCode": "PROCESSING_HALTED", "message": message}]


def _validate(body: Any) -> tuple[bool, list[dict[str, Any]]]:
    if not isinstance(body, dict) or not isinstance(body.get("compositeRequest"), list):
        raise rest_error(
            400, "JSON_PARSER_ERROR", "Expected an object with a compositeRequest array"
        )
    subrequests = body["compositeRequest"]
    if not subrequests or len(subrequests) > MAX_SUBREQUESTS:
        # [inf] Salesforce's exact wording for this limit is not captured.
        message = f"A composite request must have between 1 and {MAX_SUBREQUESTS} subrequests"
        raise rest_error(400, "INVALID_API_INPUT", message)
    seen: set[str] = set()
    heavy = 0
    for sub in subrequests:
        if not isinstance(sub, dict) or not sub.get("method") or not sub.get("url"):
            raise rest_error(400, "JSON_PARSER_ERROR", "Each subrequest needs method and url")
        ref = sub.get("referenceId")
        if not isinstance(ref, str) or not _REFERENCE_ID.match(ref) or ref in seen:
            message = f"Invalid or duplicate referenceId: {ref}"
            raise rest_error(400, "INVALID_API_INPUT", message)
        seen.add(ref)
        if "/query" in sub["url"] or "/composite/sobjects" in sub["url"]:
            heavy += 1
    if heavy > MAX_QUERY_OR_COLLECTION:
        message = (
            f"A composite request may hold at most {MAX_QUERY_OR_COLLECTION} query or "
            "collection subrequests"
        )
        raise rest_error(400, "INVALID_API_INPUT", message)
    return bool(body.get("allOrNone", False)), subrequests


def _lookup(results: dict[str, Any], ref: str, selector: str) -> Any:
    if ref not in results:
        raise _Unresolved(ref, selector)
    value = results[ref]
    for part in re.findall(r"[^.\[\]]+|\[\d+\]", selector):
        try:
            value = value[int(part[1:-1])] if part.startswith("[") else value[part]
        except (KeyError, IndexError, TypeError):
            raise _Unresolved(ref, selector) from None
    if value is None:
        raise _Unresolved(ref, selector)
    return value


def _substitute(value: Any, results: dict[str, Any]) -> Any:
    if isinstance(value, str):
        return _REFERENCE.sub(lambda m: str(_lookup(results, m.group(1), m.group(2))), value)
    if isinstance(value, list):
        return [_substitute(item, results) for item in value]
    if isinstance(value, dict):
        return {key: _substitute(item, results) for key, item in value.items()}
    return value


def _unresolved_message(exc: _Unresolved) -> str:
    ref, selector = exc.args
    return (
        f"Invalid reference specified. No value for {ref}.{selector} found in {ref}. "
        f"Provided referenceId ('{ref}') or field selector ('{selector}') might be incorrect."
    )


def composite(ctx: Ctx) -> Response:
    """``POST /composite`` (see module docstring); subrequests run through
    ``ctx.subrequest``, the router app.py supplies."""
    all_or_none, subrequests = _validate(read_json(ctx.request))
    writer = ctx.writer()
    ctx.shared_writer = writer
    results: dict[str, Any] = {}
    answers: list[dict[str, Any]] = []
    failed = False
    for sub in subrequests:
        ref = sub["referenceId"]
        if failed and all_or_none:
            answers.append(_answer(ref, 400, _halted(), {}))
            continue
        try:
            url = _substitute(sub["url"], results)
            body = _substitute(sub.get("body"), results)
        except _Unresolved as exc:
            answers.append(_answer(ref, 400, _halted(_unresolved_message(exc)), {}))
            failed = True
            continue
        response = ctx.subrequest(ctx, str(sub["method"]).upper(), url, body)
        raw = response.get_data(as_text=True)
        parsed = json.loads(raw) if raw else None
        headers = (
            {"Location": response.headers["Location"]} if "Location" in response.headers else {}
        )
        answers.append(_answer(ref, response.status_code, parsed, headers))
        if response.status_code >= 400:
            failed = True
        else:
            results[ref] = parsed
    if failed and all_or_none:
        writer.rollback()
        answers = [
            a if a["httpStatusCode"] >= 400 else _answer(a["referenceId"], 400, _halted(), {})
            for a in answers
        ]
    return json_response({"compositeResponse": answers})


def _answer(ref: str, status: int, body: Any, headers: dict[str, str]) -> dict[str, Any]:
    return {"body": body, "httpHeaders": headers, "httpStatusCode": status, "referenceId": ref}

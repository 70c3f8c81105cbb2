"""Response builders shared by the REST, OAuth and admin handlers."""

from __future__ import annotations

import json
from typing import Any

from werkzeug.wrappers import Response

JSON_TYPE = "application/json;charset=UTF-8"
NOT_FOUND_MESSAGE = "The requested resource does not exist"


class RestError(Exception):
    """A REST failure: HTTP status plus Salesforce's error array (reference §3).

    ``errors`` is a list of ``{"message", "errorCode"[, "fields"]}`` dicts (for a 300 on
    upsert, the list of matching record URLs).
    """

    def __init__(self, status: int, errors: list[Any], headers: dict | None = None):
        super().__init__(f"{status} {errors[:1]}")
        self.status = status
        self.errors = errors
        self.headers = headers or {}


def sf_error(
    code: str, message: str, fields: list[str] | None = None, **extra: Any
) -> dict[str, Any]:
    """One entry of a REST error array. ``fields`` is left out when None (reference §3)."""
    error: dict[str, Any] = dict(extra)
    error["message"] = message
    error["errorCode"] = code
    if fields is not None:
        error["fields"] = fields
    return error


def rest_error(status: int, code: str, message: str, fields: list[str] | None = None) -> RestError:
    """Shorthand for a RestError with a single entry."""
    return RestError(status, [sf_error(code, message, fields)])


def not_found() -> RestError:
    return rest_error(404, "NOT_FOUND", NOT_FOUND_MESSAGE)


def json_response(body: Any, status: int = 200, headers: dict | None = None) -> Response:
    """Serialise body as compact JSON with Salesforce's content type."""
    return Response(json.dumps(body), status=status, headers=headers, content_type=JSON_TYPE)


def empty_response(status: int = 204, headers: dict | None = None) -> Response:
    return Response(b"", status=status, headers=headers)


def oauth_error(error: str, description: str, status: int = 400) -> Response:
    """Token-endpoint error: JSON body with ``Cache-Control: no-store`` (reference §2)."""
    body = {"error": error, "error_description": description}
    return json_response(body, status, headers={"Cache-Control": "no-store", "Pragma": "no-cache"})


def read_json(request: Any) -> Any:
    """Parse the request body as JSON, raising Salesforce's JSON_PARSER_ERROR on garbage."""
    raw = request.get_data(as_text=True)
    if not raw.strip():
        return None
    try:
        return json.loads(raw)
    except ValueError as exc:
        raise rest_error(
            400, "JSON_PARSER_ERROR", f"Unexpected character: was expecting JSON ({exc.msg})"
        ) from None

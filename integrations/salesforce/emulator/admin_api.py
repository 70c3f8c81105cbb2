"""Emulator-only control and inspection API under ``/__emulator__/``.

Real Salesforce has nothing like it. It has no authentication: the emulator is a local
test double and must never face a network you do not control. Errors are
``400 {"error": "<reason>"}``; every successful mutation answers with the new state
(``GET state``) unless noted.

    GET    state                     snapshot: faults, api_usage, api_calls, oauth_calls,
                                     records (counts), tokens, rules, connected_app
    POST   faults                    JSON merge of fault switches (faults.DEFAULT_FAULTS)
    POST   reset                     back to the start config (seeded refresh tokens kept)
    GET    validation-rules          list
    POST   validation-rules          one rule or a list (rules.py), appended
    DELETE validation-rules[?name=]  all, or those with that name
    GET    duplicate-rules           list
    POST   duplicate-rules           one rule or a list (rules.py), appended
    DELETE duplicate-rules[?name=]   all, or those with that name
    POST   schema                    one operation or a list (Schema.mutate)
    POST   connected-app             {client_id?, client_secret?, callback_urls?, name?}
    POST   revoke-all                revoke every access and refresh token
    POST   clock                     {"advance_seconds": n}: move the org's clock forward
    GET    records/{Obj}             every stored record of Obj, as stored (list)
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from werkzeug.wrappers import Request, Response

from . import rules
from .faults import validate_faults
from .org import Org
from .responses import json_response


class AdminError(Exception):
    pass


def _body(request: Request) -> Any:
    try:
        return json.loads(request.get_data(as_text=True) or "null")
    except ValueError as exc:
        raise AdminError(f"body is not JSON: {exc}") from None


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _state(org: Org, request: Request) -> Response:
    return json_response(org.state())


def _faults(org: Org, request: Request) -> Response:
    update = validate_faults(_body(request))
    org.faults.update(update)
    return json_response(org.state())


def _reset(org: Org, request: Request) -> Response:
    org.reset()
    return json_response(org.state())


def _rules(kind: str) -> Callable[[Org, Request], Response]:
    normalise = {
        "validation_rules": rules.normalise_validation_rule,
        "duplicate_rules": rules.normalise_duplicate_rule,
    }[kind]

    def handler(org: Org, request: Request) -> Response:
        current: list[dict[str, Any]] = getattr(org, kind)
        if request.method == "POST":
            body = _body(request)
            if not body or not all(isinstance(rule, dict) for rule in _as_list(body)):
                raise AdminError("expected a rule object or a list of them")
            current.extend(normalise(org.schema, rule) for rule in _as_list(body))
        elif request.method == "DELETE":
            name = request.args.get("name")
            current[:] = [rule for rule in current if name is not None and rule["name"] != name]
        return json_response(current)

    return handler


def _schema(org: Org, request: Request) -> Response:
    for op in _as_list(_body(request)):
        if not isinstance(op, dict):
            raise AdminError("expected a schema operation object or a list of them")
        org.schema.mutate(op)
    return json_response(org.state())


def _connected_app(org: Org, request: Request) -> Response:
    body = _body(request)
    allowed = {"client_id", "client_secret", "callback_urls", "name"}
    if not isinstance(body, dict) or set(body) - allowed:
        raise AdminError(f"expected an object with keys among {sorted(allowed)}")
    if "callback_urls" in body and not isinstance(body["callback_urls"], list):
        raise AdminError("callback_urls must be a list")
    for key, value in body.items():
        setattr(org.app, key, list(value) if key == "callback_urls" else str(value))
    return json_response(org.state())


def _revoke_all(org: Org, request: Request) -> Response:
    org.tokens.revoke_all()
    return json_response(org.state())


def _clock(org: Org, request: Request) -> Response:
    body = _body(request)
    seconds = body.get("advance_seconds") if isinstance(body, dict) else None
    if not isinstance(seconds, (int, float)) or isinstance(seconds, bool) or seconds < 0:
        raise AdminError('expected {"advance_seconds": <non-negative number>}')
    org.clock_offset += seconds
    return json_response(org.state())


def _records(org: Org, request: Request, obj: str) -> Response:
    name = org.schema.object_name(obj)
    if name is None:
        raise AdminError(f"unknown object {obj!r}")
    return json_response(list(org.records[name].values()))


ROUTES: dict[tuple[str, str], Callable[[Org, Request], Response]] = {
    ("GET", "state"): _state,
    ("POST", "faults"): _faults,
    ("POST", "reset"): _reset,
    ("POST", "schema"): _schema,
    ("POST", "connected-app"): _connected_app,
    ("POST", "revoke-all"): _revoke_all,
    ("POST", "clock"): _clock,
}
for _method in ("GET", "POST", "DELETE"):
    ROUTES[(_method, "validation-rules")] = _rules("validation_rules")
    ROUTES[(_method, "duplicate-rules")] = _rules("duplicate_rules")


def dispatch(org: Org, request: Request, path: str) -> Response:
    """Handle ``/__emulator__/<path>`` under the org lock."""
    path = path.strip("/")
    with org.lock:
        try:
            if request.method == "GET" and path.startswith("records/"):
                return _records(org, request, path.split("/", 1)[1])
            handler = ROUTES.get((request.method, path))
            if handler is None:
                return json_response({"error": f"no admin endpoint {request.method} {path}"}, 404)
            return handler(org, request)
        except (AdminError, ValueError) as exc:
            return json_response({"error": str(exc)}, 400)

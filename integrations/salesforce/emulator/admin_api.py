"""Emulator-only control and inspection API under ``/__emulator__/``.

Real Salesforce has nothing like it. It has no authentication: the emulator is a local
test double and must never face a network you do not control. Errors are
``400 {"error": "<reason>"}``; every successful mutation answers with the new state
(``GET state``) unless noted.

    GET    state                     snapshot: org profile, faults, api_usage, api_calls,
                                     oauth_calls, records (counts), tokens, rules,
                                     seed_ids (the lived-in org's users, queue, ...),
                                     connected_app
    POST   faults                    JSON merge of fault switches (faults.DEFAULT_FAULTS)
    POST   reset                     back to the start config (seeded refresh tokens kept);
                                     body {"org": "blank"} or {"org": "lived_in"} picks
                                     the profile for this reset only
    GET    validation-rules          list
    POST   validation-rules          one rule or a list (rules.py), appended
    DELETE validation-rules[?name=]  all, or those with that name
    GET    duplicate-rules           list (the lived-in org starts with the two standard ones)
    POST   duplicate-rules           one rule or a list (duplicates.py), appended
    DELETE duplicate-rules[?name=]   all, or those with that name
    POST   duplicate-rules/action    {"action": "allow"|"block"|"off", "name"?: rule name}:
                                     switch one rule, or every rule when name is left out
    GET    assignment-rules          list (the lived-in org starts with one active rule)
    POST   assignment-rules          one rule or a list (assignment.py), appended
    DELETE assignment-rules[?name=]  all, or those with that name
    POST   assignment-rules/active   {"active": true|false, "name"?: rule name}: switch
                                     one rule (or all); at most one rule stays active
    POST   field                     {"object", "field", "read_only"?: bool,
                                     "required"?: bool}: make a field read-only or
                                     required (or undo it), as a customer's admin would
    POST   schema                    one operation or a list (Schema.mutate)
    POST   connected-app             {client_id?, client_secret?, callback_urls?, name?}
    POST   revoke-all                revoke every access and refresh token
    POST   clock                     {"advance_seconds": n}: move the org's clock forward
    GET    records/{Obj}[?seeded=false]  every stored record of Obj, as stored (list);
                                     seeded=false leaves out the lived-in org's own data
    GET    writes                    write counts per external-id value (see below)

``GET writes`` counts, per external-id field value, how often a create or an upsert wrote
it (a plain update by Id does not count), so a bench can report any value written twice::

    {"by_value": {"Lead.LeadSync_Booking_Id__c": {"bk-1": {"writes": 2, "creates": 1}}},
     "written_more_than_once": [{"object": "Lead", "field": "LeadSync_Booking_Id__c",
                                 "value": "bk-1", "writes": 2, "creates": 1}],
     "created_more_than_once": [...same shape, creates > 1: real duplicate records...],
     "total_writes": 2}

Values are case-folded (external ids match case-insensitively). An allOrNone rollback
takes its counts back. ``POST reset`` clears them.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from werkzeug.wrappers import Request, Response

from . import assignment, duplicates, rules
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
    body = _body(request)
    if body is not None and (not isinstance(body, dict) or set(body) - {"org"}):
        raise AdminError('expected no body or {"org": "blank" | "lived_in"}')
    org.reset((body or {}).get("org"))
    return json_response(org.state())


def _rules(kind: str) -> Callable[[Org, Request], Response]:
    normalise: Callable[[Org, dict[str, Any]], dict[str, Any]] = {
        "validation_rules": lambda org, rule: rules.normalise_validation_rule(org.schema, rule),
        "duplicate_rules": lambda org, rule: duplicates.normalise_rule(org.schema, rule),
        "assignment_rules": lambda org, rule: assignment.normalise_rule(
            org, rule, len(org.assignment_rules) + 1
        ),
    }[kind]

    def handler(org: Org, request: Request) -> Response:
        current: list[dict[str, Any]] = getattr(org, kind)
        if request.method == "POST":
            body = _body(request)
            if not body or not all(isinstance(rule, dict) for rule in _as_list(body)):
                raise AdminError("expected a rule object or a list of them")
            for rule in _as_list(body):
                current.append(normalise(org, rule))
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
    org.reindex()  # an external id or unique flag may have changed
    return json_response(org.state())


def _named(rules_: list[dict[str, Any]], name: Any) -> list[dict[str, Any]]:
    chosen = [rule for rule in rules_ if name is None or rule["name"] == name]
    if not chosen:
        raise AdminError(f"no rule named {name!r}" if name else "there are no rules")
    return chosen


def _duplicate_action(org: Org, request: Request) -> Response:
    body = _body(request)
    if not isinstance(body, dict) or body.get("action") not in duplicates.ACTIONS:
        raise AdminError(f'expected {{"action": one of {duplicates.ACTIONS}, "name"?: ...}}')
    for rule in _named(org.duplicate_rules, body.get("name")):
        rule["action"] = body["action"]
    return json_response(org.duplicate_rules)


def _assignment_active(org: Org, request: Request) -> Response:
    body = _body(request)
    if not isinstance(body, dict) or not isinstance(body.get("active"), bool):
        raise AdminError('expected {"active": true|false, "name"?: ...}')
    chosen = _named(org.assignment_rules, body.get("name"))
    if body["active"]:
        if len(chosen) != 1:
            raise AdminError("name the rule to activate: only one rule can be active")
        for rule in org.assignment_rules:  # Salesforce keeps one active rule per object
            rule["active"] = False
    for rule in chosen:
        rule["active"] = body["active"]
    return json_response(org.assignment_rules)


def _field(org: Org, request: Request) -> Response:
    body = _body(request)
    allowed = {"object", "field", "read_only", "required"}
    if not isinstance(body, dict) or set(body) - allowed or not {"object", "field"} <= set(body):
        raise AdminError(f"expected an object with object, field and keys among {sorted(allowed)}")
    changes: dict[str, Any] = {}
    if "read_only" in body:
        changes.update(createable=not body["read_only"], updateable=not body["read_only"])
    if "required" in body:
        changes["nillable"] = not body["required"]
        if body["required"]:
            changes["defaultedOnCreate"] = False
    org.schema.mutate({"object": body["object"], "field": body["field"], "set": changes})
    return json_response(org.schema.field(org.schema.require_object(body["object"]), body["field"]))


def _writes(org: Org, request: Request) -> Response:
    return json_response(org.writes_summary())


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
    rows = list(org.records[name].values())
    if request.args.get("seeded", "").lower() == "false":
        rows = [row for row in rows if row["Id"] not in org.seeded]
    return json_response(rows)


ROUTES: dict[tuple[str, str], Callable[[Org, Request], Response]] = {
    ("GET", "state"): _state,
    ("POST", "faults"): _faults,
    ("POST", "reset"): _reset,
    ("POST", "schema"): _schema,
    ("POST", "connected-app"): _connected_app,
    ("POST", "revoke-all"): _revoke_all,
    ("POST", "clock"): _clock,
    ("POST", "duplicate-rules/action"): _duplicate_action,
    ("POST", "assignment-rules/active"): _assignment_active,
    ("POST", "field"): _field,
    ("GET", "writes"): _writes,
}
for _method in ("GET", "POST", "DELETE"):
    ROUTES[(_method, "validation-rules")] = _rules("validation_rules")
    ROUTES[(_method, "duplicate-rules")] = _rules("duplicate_rules")
    ROUTES[(_method, "assignment-rules")] = _rules("assignment_rules")


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

"""The emulator's WSGI application: routing and the REST call pipeline.

Routing matches the *raw* request path (still percent-encoded) and decodes each URL
value afterwards, so an external id such as ``a/b`` (sent as ``a%2Fb``) stays one
segment. A trailing slash is optional everywhere, as simple-salesforce mixes both.

Pipeline of a REST data call (``data_call``):
latency (outside the lock) -> bearer token (401) -> API disabled (403) -> queued or random
503 -> daily limit (403) -> count the call -> lock fault -> handler -> optional delay
after a committed write (outside the lock). ``Sforce-Limit-Info`` goes on every response.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import unquote

from werkzeug.exceptions import HTTPException, MethodNotAllowed, NotFound
from werkzeug.routing import Map, Rule
from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request, Response

from . import admin_api, composite, oauth, rest, rest_collections, rest_query
from .faults import take_fail_next
from .org import LOCK_MESSAGE, Org
from .responses import NOT_FOUND_MESSAGE, RestError, json_response, rest_error

D = "/services/data/<ver>"
# endpoint -> {method: (counter kind, handler, is_write)}
DATA_ROUTES: dict[str, dict[str, tuple[str, Callable[..., Response], bool]]] = {
    "resources": {"GET": ("resources", rest.resources, False)},
    "describe_global": {"GET": ("describe_global", rest.describe_global, False)},
    "sobject": {
        "GET": ("sobject.basic", rest.sobject_basic, False),
        "POST": ("sobject.create", rest.create, True),
    },
    "describe": {"GET": ("describe", rest.describe, False)},
    "record": {
        "GET": ("sobject.get", rest.get_record, False),
        "PATCH": ("sobject.update", rest.update_record, True),
        "DELETE": ("sobject.delete", rest.delete_record, True),
    },
    "external": {
        "GET": ("sobject.get_by_external_id", rest.get_by_external, False),
        "PATCH": ("sobject.upsert", rest.upsert, True),
    },
    "query": {"GET": ("query", rest_query.query, False)},
    "query_more": {"GET": ("query", rest_query.next_page, False)},
    "query_all": {"GET": ("queryAll", rest_query.query_all, False)},
    "query_all_more": {"GET": ("queryAll", rest_query.next_page, False)},
    "search": {"GET": ("search", rest_query.search, False)},
    "composite": {"POST": ("composite", composite.composite, True)},
    "limits": {"GET": ("limits", rest.limits, False)},
    "collection": {
        "POST": ("collection.create", rest_collections.create, True),
        "PATCH": ("collection.update", rest_collections.update, True),
        "DELETE": ("collection.delete", rest_collections.delete, True),
    },
    "collection_retrieve": {
        "GET": ("collection.retrieve", rest_collections.retrieve, False),
        "POST": ("collection.retrieve", rest_collections.retrieve, False),
    },
    "collection_upsert": {"PATCH": ("collection.upsert", rest_collections.upsert, True)},
}
OAUTH_ROUTES = {
    "authorize": oauth.authorize,
    "token": oauth.token,
    "userinfo": oauth.userinfo,
    "identity": oauth.userinfo,
    "revoke": oauth.revoke,
    "oauth_error_page": oauth.error_page,
}

URL_MAP = Map(
    [
        Rule("/services/data", endpoint="versions"),
        Rule(D, endpoint="resources"),
        Rule(f"{D}/sobjects", endpoint="describe_global"),
        Rule(f"{D}/sobjects/<obj>", endpoint="sobject"),
        Rule(f"{D}/sobjects/<obj>/describe", endpoint="describe"),
        Rule(f"{D}/sobjects/<obj>/<record_id>", endpoint="record"),
        Rule(f"{D}/sobjects/<obj>/<ext_field>/<ext_value>", endpoint="external"),
        Rule(f"{D}/query", endpoint="query"),
        Rule(f"{D}/query/<cursor>", endpoint="query_more"),
        Rule(f"{D}/queryAll", endpoint="query_all"),
        Rule(f"{D}/queryAll/<cursor>", endpoint="query_all_more"),
        Rule(f"{D}/search", endpoint="search"),
        Rule(f"{D}/composite", endpoint="composite"),
        Rule(f"{D}/limits", endpoint="limits"),
        Rule(f"{D}/composite/sobjects", endpoint="collection"),
        Rule(f"{D}/composite/sobjects/<obj>", endpoint="collection_retrieve"),
        Rule(f"{D}/composite/sobjects/<obj>/<ext_field>", endpoint="collection_upsert"),
        Rule("/services/oauth2/authorize", endpoint="authorize", methods=["GET", "POST"]),
        Rule("/services/oauth2/token", endpoint="token", methods=["POST"]),
        Rule("/services/oauth2/userinfo", endpoint="userinfo", methods=["GET", "POST"]),
        Rule("/services/oauth2/revoke", endpoint="revoke", methods=["GET", "POST"]),
        Rule("/id/<org_id>/<user_id>", endpoint="identity"),
        Rule(oauth.ERROR_PAGE, endpoint="oauth_error_page"),
        Rule(
            "/__emulator__/<path:admin_path>", endpoint="admin", methods=["GET", "POST", "DELETE"]
        ),
    ],
    strict_slashes=False,
    merge_slashes=False,
)


class EmulatorApp:
    """WSGI callable serving one Org."""

    def __init__(self, org: Org) -> None:
        self.org = org

    def __call__(self, environ: dict, start_response: Callable) -> Any:
        request = Request(environ)
        return self.handle(request)(environ, start_response)

    def handle(self, request: Request) -> Response:
        raw_path = environ_raw_path(request.environ)
        adapter = URL_MAP.bind("emulator", "/")
        try:
            endpoint, values = adapter.match(raw_path.rstrip("/") or "/", method=request.method)
        except MethodNotAllowed as exc:
            allowed = ",".join(sorted(exc.valid_methods or []))
            message = f"HTTP Method '{request.method}' not allowed. Allowed are {allowed}"
            return rest_response(rest_error(405, "METHOD_NOT_ALLOWED", message))
        except NotFound:
            # Every unknown route answers in Salesforce's error shape (reference §3).
            return rest_response(rest_error(404, "NOT_FOUND", NOT_FOUND_MESSAGE))
        except HTTPException as exc:  # e.g. a routing redirect we never configure
            return exc.get_response()
        values = {key: unquote(value) for key, value in values.items()}
        if endpoint == "versions":
            return json_response(rest.versions())
        if endpoint == "admin":
            return admin_api.dispatch(self.org, request, values["admin_path"])
        if endpoint in OAUTH_ROUTES:
            return OAUTH_ROUTES[endpoint](self.org, request)
        return self.data_call(request, endpoint, values)

    # -- REST pipeline ---------------------------------------------------------------------

    def data_call(self, request: Request, endpoint: str, values: dict[str, str]) -> Response:
        org = self.org
        try:
            version = rest.parse_version(values.pop("ver"))
            methods = DATA_ROUTES[endpoint]
            if request.method not in methods:
                allowed = ",".join(methods)
                message = f"HTTP Method '{request.method}' not allowed. Allowed are {allowed}"
                raise rest_error(405, "METHOD_NOT_ALLOWED", message)
        except RestError as exc:
            return self._with_limit_info(rest_response(exc))
        kind, handler, is_write = methods[request.method]
        with org.lock:
            latency = org.faults["latency_ms"] / 1000
        if latency:
            time.sleep(latency)
        delay_after = 0.0
        with org.lock:
            try:
                ctx = self._admit(request, version, kind, is_write)
                response = handler(ctx, **values)
                if ctx.timeout_after_write:
                    delay_after = org.faults["timeout_after_write_seconds"]
            except RestError as exc:
                response = rest_response(exc)
            response = self._with_limit_info(response)
        if delay_after:
            # The write is committed; the client will time out waiting (fail_next
            # "timeout_after_write"), exactly the case idempotent upserts must survive.
            time.sleep(delay_after)
        return response

    def _admit(self, request: Request, version: str, kind: str, is_write: bool) -> rest.Ctx:
        """Authenticate, apply platform faults and count the call; caller holds the lock."""
        org = self.org
        header = request.headers.get("Authorization", "")
        token = header.split(" ", 1)[1] if header[:7].lower() == "bearer " else ""
        if org.tokens.valid_access(token, org.now()) is None:
            raise RestError(
                401,
                [{"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}],
                headers={"WWW-Authenticate": "Token"},
            )
        faults = org.faults
        if faults["api_disabled"]:
            message = "The REST API is not enabled for this Organization."
            raise rest_error(403, "API_DISABLED_FOR_ORG", message)
        fault = take_fail_next(faults, {"rest", "write"} if is_write else {"rest"})
        if fault == "503" or org.rng.random() < faults["rate_503"]:
            raise rest_error(503, "SERVER_UNAVAILABLE", "Server Unavailable")
        if fault == "request_limit" or org.api_used >= org.api_limit:
            raise rest_error(403, "REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded.")
        org.api_used += 1
        org.api_calls[kind] += 1
        ctx = rest.Ctx(org, request, version, subrequest=self._subrequest)
        ctx.timeout_after_write = fault == "timeout_after_write"
        if fault == "lock" or (is_write and org.rng.random() < faults["rate_lock"]):
            if kind.startswith("collection."):
                ctx.lock_fault = True  # per-record errors, see rest_collections
            else:
                raise rest_error(400, "UNABLE_TO_LOCK_ROW", LOCK_MESSAGE, [])
        return ctx

    def _subrequest(self, parent: rest.Ctx, method: str, url: str, body: Any) -> Response:
        """Run one composite subrequest under the caller's lock, uncounted: the composite
        call was counted once. Its headers are the composite request's."""
        path, _, query = url.partition("?")
        try:
            endpoint, values = URL_MAP.bind("emulator", "/").match(path.rstrip("/"), method="GET")
        except HTTPException:
            return rest_response(rest_error(404, "NOT_FOUND", NOT_FOUND_MESSAGE))
        values = {key: unquote(value) for key, value in values.items()}
        try:
            if endpoint not in DATA_ROUTES or endpoint == "composite":
                raise rest_error(404, "NOT_FOUND", NOT_FOUND_MESSAGE)
            version = rest.parse_version(values.pop("ver"))
            methods = DATA_ROUTES[endpoint]
            if method not in methods:
                message = f"HTTP Method '{method}' not allowed. Allowed are {','.join(methods)}"
                raise rest_error(405, "METHOD_NOT_ALLOWED", message)
            headers = {
                name: value
                for name, value in parent.request.headers.items()
                if name.lower().startswith("sforce-")
            }
            builder = EnvironBuilder(
                path=path,
                method=method,
                query_string=query,
                headers=headers,
                data=json.dumps(body) if body is not None else None,
                content_type="application/json",
            )
            request = Request(builder.get_environ())
            ctx = rest.Ctx(self.org, request, version, shared_writer=parent.shared_writer)
            return methods[method][1](ctx, **values)
        except RestError as exc:
            return rest_response(exc)

    def _with_limit_info(self, response: Response) -> Response:
        with self.org.lock:
            response.headers["Sforce-Limit-Info"] = self.org.limit_info()
        return response


def rest_response(exc: RestError) -> Response:
    return json_response(exc.errors, exc.status, headers=exc.headers)


def environ_raw_path(environ: dict) -> str:
    """The request path before percent-decoding (werkzeug's server sets RAW_URI)."""
    raw = environ.get("RAW_URI") or environ.get("REQUEST_URI")
    if raw:
        path = raw.split("?", 1)[0]
        if "://" in path:  # absolute-form request target
            path = "/" + path.split("://", 1)[1].partition("/")[2]
        return path
    return environ.get("PATH_INFO", "/")

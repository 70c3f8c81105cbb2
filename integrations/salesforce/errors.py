"""Every Salesforce failure becomes one `SalesforceError`, classified here and only here.

Kinds (DESIGN.md "Error classes"):
- transient  -> retry with backoff (timeouts, 5xx, row locks, concurrent refresh, limits)
- session    -> refresh the access token once, then retry (401 INVALID_SESSION_ID)
- connection -> hold deliveries, mark the connection needs_reconnect, tell staff
- permanent  -> this record fails; fix the data or the mapping

Sources for the odd cases are linked beside them. OAuth endpoints answer
`{"error", "error_description"}`; REST calls a list of `{"errorCode", "message",
"fields"}`; Collections results carry per-record `errors` with `statusCode`.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

import requests
from authlib.common.errors import AuthlibBaseError
from simple_salesforce import exceptions as sf_exceptions


class Kind(StrEnum):
    TRANSIENT = "transient"
    SESSION = "session"
    CONNECTION = "connection"
    PERMANENT = "permanent"


#: Permanent errors that name a field whose definition no longer fits the mapping: the
#: org's schema changed (a field deleted, made read-only or required, a picklist value
#: gone). A delivery failing with one of these re-reads that object's fields.
FIELD_ERROR_CODES = frozenset(
    {
        "INVALID_FIELD",
        "INVALID_FIELD_FOR_INSERT_UPDATE",
        "REQUIRED_FIELD_MISSING",
        "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
    }
)


def is_field_error(code: str) -> bool:
    """Whether `code` says a field's definition in Salesforce no longer fits the mapping."""
    return code in FIELD_ERROR_CODES


class SalesforceError(Exception):
    """One failed exchange with Salesforce.

    kind: a Kind; code: Salesforce's errorCode / OAuth `error` (or ours, upper-case, for
    transport failures: TIMEOUT, CONNECTION_ERROR, TLS_ERROR); message: Salesforce's text;
    fields: the fields it names; http_status: None without a response; details: the rest
    of the body when it matters (e.g. DUPLICATES_DETECTED's match results).
    """

    def __init__(
        self,
        kind: Kind,
        code: str,
        message: str,
        *,
        fields: list[str] | tuple[str, ...] = (),
        http_status: int | None = None,
        details: Any = None,
    ) -> None:
        super().__init__(f"{code}: {message}" if message else code)
        self.kind = Kind(kind)
        self.code = code
        self.message = message
        self.fields = list(fields)
        self.http_status = http_status
        self.details = details

    @property
    def retryable(self) -> bool:
        """Whether the same request may succeed later without anyone changing anything."""
        return self.kind in (Kind.TRANSIENT, Kind.SESSION)

    def __repr__(self) -> str:
        return f"SalesforceError({self.kind.value}, {self.code!r}, {self.message!r})"


def token_unreadable() -> SalesforceError:
    """A stored token that no configured encryption key decrypts: staff must reconnect."""
    return SalesforceError(
        Kind.CONNECTION,
        "TOKEN_UNREADABLE",
        "The stored token cannot be decrypted with FIELD_ENCRYPTION_KEYS.",
    )


# -- OAuth (token / authorize / revoke endpoints) ---------------------------------------------

# invalid_grant is terminal except for this description: since Winter '25 a second
# concurrent refresh with the same refresh token is refused while the first is running.
# https://help.salesforce.com/s/articleView?id=release-notes.rn_security_refresh_token_error.htm
TOKEN_IN_PROGRESS = "token request is already being processed"  # noqa: S105 - a message

_OAUTH_TRANSIENT = {
    "rate_limit_exceeded",  # "number of logins exceeded": wait, do not reconnect
    "temporarily_unavailable",  # RFC 6749 §4.1.2.1
    "server_error",
}


def error_from_oauth(
    error: str, description: str | None, *, http_status: int | None = None
) -> SalesforceError:
    """Classify an OAuth error (`error` / `error_description` of the token endpoint, or
    the query of an authorize redirect)."""
    description = description or ""
    in_progress = error == "invalid_grant" and TOKEN_IN_PROGRESS in description.lower()
    # Everything else -- invalid_grant (expired/revoked refresh token, "ip restricted",
    # "inactive user"), OAUTH_APP_BLOCKED, invalid_app_access, invalid_client(_id),
    # inactive_org ...: nothing changes until someone changes a setting and reconnects.
    transient = in_progress or error in _OAUTH_TRANSIENT
    kind = Kind.TRANSIENT if transient else Kind.CONNECTION
    return SalesforceError(kind, error, description, http_status=http_status)


# -- REST ---------------------------------------------------------------------------------------

_TRANSIENT_CODES = {
    "SERVER_UNAVAILABLE",
    # 400 on most APIs, 500 from some clients' point of view; always worth a retry.
    # https://developer.salesforce.com/docs/atlas.en-us.salesforce_app_limits_cheatsheet.meta
    "UNABLE_TO_LOCK_ROW",
    # 403; daily or concurrency limit: retry with a long backoff (DESIGN.md).
    "REQUEST_LIMIT_EXCEEDED",
}
_CONNECTION_CODES = {
    "API_DISABLED_FOR_ORG",  # edition without API access (403)
    "API_CURRENTLY_DISABLED",  # the user's profile lacks "API Enabled" (403)
    "INVALID_AUTH_HEADER",
}
_SESSION_CODES = {"INVALID_SESSION_ID"}
# DUPLICATES_DETECTED carries what matched: `duplicateResut` (sic) in single-record REST
# bodies, `duplicateResult` in Collections results.
_DUPLICATE_KEYS = frozenset({"duplicateResut", "duplicateResult"})


def error_from_response(status: int, body: Any) -> SalesforceError:
    """Classify a REST response with status >= 300. `body` is the parsed JSON (usually
    Salesforce's error array) or the text."""
    first: dict[str, Any] = {}
    if isinstance(body, list) and body and isinstance(body[0], dict):
        first = body[0]
    elif isinstance(body, dict):
        first = body
    code = first.get("errorCode") or first.get("statusCode") or ""
    message = first.get("message") or ""
    fields = first.get("fields") or []
    details = body if _DUPLICATE_KEYS & first.keys() else None
    if not code:
        code, message = _code_without_error_array(status, body)
    return SalesforceError(
        _rest_kind(status, code),
        code,
        message,
        fields=fields,
        http_status=status,
        details=details,
    )


def _code_without_error_array(status: int, body: Any) -> tuple[str, str]:
    text = body if isinstance(body, str) else ""
    if status == 300:
        # Upsert by a non-unique external id matched several records; body: their URLs.
        return "MULTIPLE_RECORDS", "The external ID matches more than one record."
    if status == 403 and "Bad_OAuth_Token" in text:
        # The identity service (userinfo) answers an expired token with 403 text, not
        # the REST 401. https://help.salesforce.com/s/articleView?id=xcloud.remoteaccess_using_userinfo_endpoint.htm
        return "INVALID_SESSION_ID", "Bad_OAuth_Token"
    # Gateways in front of Salesforce answer 502/503/504 with an HTML page, not JSON.
    return f"HTTP_{status}", text.strip()[:300]


def _rest_kind(status: int, code: str) -> Kind:
    if code in _SESSION_CODES or status == 401:
        return Kind.SESSION
    if code in _TRANSIENT_CODES:
        return Kind.TRANSIENT
    if code in _CONNECTION_CODES:
        return Kind.CONNECTION
    if status >= 500:
        return Kind.TRANSIENT
    return Kind.PERMANENT


def error_from_record_errors(errors: list[dict[str, Any]]) -> SalesforceError:
    """Classify one record's `errors` in an sObject Collections result (`statusCode`, not
    `errorCode`, as Collections results name it). The collection call itself succeeded
    with 200."""
    first = errors[0] if errors else {}
    code = first.get("statusCode") or first.get("errorCode") or "UNKNOWN_ERROR"
    # No HTTP status per record: classify as a 400 would be (lock errors stay transient).
    return SalesforceError(
        _rest_kind(400, code),
        code,
        first.get("message") or "",
        fields=first.get("fields") or [],
        details=first if _DUPLICATE_KEYS & first.keys() else errors if len(errors) > 1 else None,
    )


# -- any exception ----------------------------------------------------------------------------


#: What the vendor libraries raise; `error_from_exception` classifies each of them.
VENDOR_EXCEPTIONS = (
    sf_exceptions.SalesforceError,
    AuthlibBaseError,
    requests.RequestException,
    ValueError,  # a 2xx body that is not the JSON we expect
)


def error_from_exception(exc: BaseException) -> SalesforceError:
    """Classify an exception raised by simple-salesforce, authlib or requests."""
    if isinstance(exc, SalesforceError):
        return exc
    if isinstance(exc, sf_exceptions.SalesforceError):
        return error_from_response(exc.status, exc.content)
    if isinstance(exc, AuthlibBaseError):
        return error_from_oauth(exc.error or "oauth_error", exc.description)
    if isinstance(exc, requests.HTTPError) and exc.response is not None:
        response = exc.response
        try:
            body: Any = response.json()
        except ValueError:
            body = response.text
        if isinstance(body, dict) and "error" in body:
            return error_from_oauth(
                body["error"], body.get("error_description"), http_status=response.status_code
            )
        return error_from_response(response.status_code, body)
    if isinstance(exc, requests.exceptions.SSLError):
        # Certificate not trusted (SALESFORCE_CA_BUNDLE?) or a proxy in the way. Retried
        # like any network failure; the message says what to check.
        return SalesforceError(Kind.TRANSIENT, "TLS_ERROR", f"TLS handshake failed: {exc}")
    if isinstance(exc, requests.Timeout):
        return SalesforceError(Kind.TRANSIENT, "TIMEOUT", "Salesforce did not answer in time.")
    if isinstance(exc, requests.RequestException):
        return SalesforceError(
            Kind.TRANSIENT, "CONNECTION_ERROR", f"Could not reach Salesforce: {exc}"
        )
    if isinstance(exc, ValueError):  # a 2xx whose body is not the JSON we expect
        return SalesforceError(Kind.TRANSIENT, "BAD_RESPONSE", str(exc))
    raise TypeError(f"not a Salesforce failure: {exc!r}") from exc

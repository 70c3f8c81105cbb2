"""The one Salesforce client: simple-salesforce driven by a token source.

- The client knows no model: it asks a `TokenSource` for the current credentials, for a
  new access token when Salesforce refuses one, and tells it the API usage it saw. The
  app's source (integrations.connection.tokens) reads and writes the connection row.
- Every call goes over the process's shared requests session (integrations.salesforce.http:
  default timeout, pinned CA bundle).
- A 401 INVALID_SESSION_ID asks the source for a new token once and retries the call once.
- Every failure is raised as integrations.salesforce.errors.SalesforceError.

Nothing else in the project imports simple_salesforce or talks to Salesforce's REST API.
A client is cheap; build one per task / request, do not share one between threads.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar
from urllib.parse import urlencode

from simple_salesforce import Salesforce, SFType
from simple_salesforce.format import format_external_id

from integrations.salesforce import http
from integrations.salesforce.errors import (
    VENDOR_EXCEPTIONS,
    Kind,
    SalesforceError,
    error_from_exception,
    error_from_record_errors,
    error_from_response,
)

T = TypeVar("T")
COLLECTION_MAX = 200  # records per sObject Collections request (Salesforce's documented cap)
COMPOSITE_MAX = 25  # subrequests per composite request


@dataclass(frozen=True)
class Credentials:
    """What a call needs: where the org is, the access token ('' when none is stored yet)
    and the REST API version."""

    instance_url: str
    access_token: str
    api_version: str


class TokenSource(Protocol):
    """Where a client gets its tokens and reports usage (one connected org).

    `credentials()` may raise SalesforceError (a stored token that cannot be read).
    `refresh(failed_access_token=...)` returns fresh credentials, given the access token
    Salesforce just refused ('' when there was none); implementations serialise refreshes
    per org (refresh tokens may rotate). Raises SalesforceError.
    `usage_seen(used=..., limit=...)` receives the daily API usage a response reported.
    """

    def credentials(self) -> Credentials: ...

    def refresh(self, *, failed_access_token: str) -> Credentials: ...

    def usage_seen(self, *, used: int, limit: int) -> None: ...


@dataclass(frozen=True)
class RecordResult:
    """One record's outcome in a create / upsert. `error` is None on success."""

    id: str | None
    success: bool
    created: bool | None = None
    error: SalesforceError | None = None


class SalesforceClient:
    """Salesforce REST calls on behalf of one connection (see module docstring)."""

    def __init__(self, tokens: TokenSource) -> None:
        self.tokens = tokens
        self._sobjects: list[SFType] = []

    # -- the calls the product makes ------------------------------------------------------

    def describe(self, sobject: str) -> dict[str, Any]:
        """`GET /sobjects/{sobject}/describe`."""
        return self._call(lambda sf: self._sobject(sf, sobject).describe())

    def create(
        self, sobject: str, record: dict[str, Any], *, headers: dict[str, str] | None = None
    ) -> RecordResult:
        """`POST /sobjects/{sobject}/`. Raises SalesforceError when Salesforce refuses."""
        body = self._call(
            lambda sf: self._sobject(sf, sobject).create(record, headers=headers or {})
        )
        return RecordResult(id=body.get("id"), success=True, created=True)

    def upsert(
        self,
        sobject: str,
        external_id_field: str,
        external_id: str,
        record: dict[str, Any],
        *,
        headers: dict[str, str] | None = None,
    ) -> RecordResult:
        """`PATCH /sobjects/{sobject}/{field}/{value}`: create or update by external id.
        Raises SalesforceError (MULTIPLE_RECORDS when the id matches several records)."""
        key = format_external_id(external_id_field, external_id)

        def op(sf: Salesforce) -> RecordResult:
            response = self._sobject(sf, sobject).upsert(
                key, record, raw_response=True, headers=headers or {}
            )
            body = response.json() if response.content else {}
            created = body.get("created", response.status_code == 201)
            return RecordResult(id=body.get("id"), success=True, created=created)

        return self._call(op)

    def collection_create(
        self,
        records: list[dict[str, Any]],
        *,
        all_or_none: bool = False,
        headers: dict[str, str] | None = None,
    ) -> list[RecordResult]:
        """`POST /composite/sobjects` (one API call for up to 200 records). Each record
        carries `{"attributes": {"type": "Lead"}}`. Results are in request order. `headers`
        (e.g. Sforce-Auto-Assign, Sforce-Duplicate-Rule-Header) go with the request."""
        self._check_size(records)
        body = {"allOrNone": all_or_none, "records": records}
        results = self._call(
            lambda sf: sf.restful(
                "composite/sobjects", method="POST", json=body, headers=headers or {}
            )
        )
        return [_record_result(item) for item in results or []]

    def collection_update(
        self,
        records: list[dict[str, Any]],
        *,
        all_or_none: bool = False,
        headers: dict[str, str] | None = None,
    ) -> list[RecordResult]:
        """`PATCH /composite/sobjects`: update up to 200 records by `Id` in one API call
        (each with `attributes.type`). Results are in request order."""
        self._check_size(records)
        body = {"allOrNone": all_or_none, "records": records}
        results = self._call(
            lambda sf: sf.restful(
                "composite/sobjects", method="PATCH", json=body, headers=headers or {}
            )
        )
        return [_record_result(item) for item in results or []]

    def collection_delete(self, ids: list[str], *, all_or_none: bool = False) -> list[RecordResult]:
        """`DELETE /composite/sobjects?ids=...`: delete up to 200 records by Id in one API
        call. Results are in request order (an id already deleted fails with
        ENTITY_IS_DELETED)."""
        if not 0 < len(ids) <= COLLECTION_MAX:
            raise ValueError(f"a collection holds 1 to {COLLECTION_MAX} records")
        params = {"ids": ",".join(ids), "allOrNone": "true" if all_or_none else "false"}
        results = self._call(
            lambda sf: sf.restful("composite/sobjects", method="DELETE", params=params)
        )
        return [_record_result(item) for item in results or []]

    def composite_queries(self, queries: dict[str, str]) -> dict[str, list[dict[str, Any]]]:
        """Up to 25 SOQL queries in one `POST /composite` (one API call); returns each
        query's rows (its first page: at most 2,000) by the caller's name for it. A query
        Salesforce refuses raises its error."""
        if not 0 < len(queries) <= COMPOSITE_MAX:
            raise ValueError(f"a composite request holds 1 to {COMPOSITE_MAX} subrequests")

        def op(sf: Salesforce) -> dict[str, list[dict[str, Any]]]:
            base = f"/services/data/v{sf.sf_version}/query"
            body = {
                "allOrNone": False,
                "compositeRequest": [
                    {
                        "method": "GET",
                        "url": f"{base}?{urlencode({'q': soql})}",
                        "referenceId": name,
                    }
                    for name, soql in queries.items()
                ],
            }
            answer = sf.restful("composite", method="POST", json=body) or {}
            rows: dict[str, list[dict[str, Any]]] = {}
            for sub in answer.get("compositeResponse") or ():
                status = int(sub.get("httpStatusCode") or 0)
                if status >= 300:
                    raise error_from_response(status, sub.get("body"))
                rows[sub.get("referenceId")] = (sub.get("body") or {}).get("records") or []
            return rows

        return self._call(op)

    def collection_upsert(
        self,
        sobject: str,
        external_id_field: str,
        records: list[dict[str, Any]],
        *,
        all_or_none: bool = False,
        headers: dict[str, str] | None = None,
    ) -> list[RecordResult]:
        """`PATCH /composite/sobjects/{sobject}/{field}`: upsert up to 200 records by
        external id in one API call. Results are in request order."""
        self._check_size(records)
        body = {"allOrNone": all_or_none, "records": records}
        path = f"composite/sobjects/{sobject}/{external_id_field}"
        results = self._call(
            lambda sf: sf.restful(path, method="PATCH", json=body, headers=headers or {})
        )
        return [_record_result(item) for item in results or []]

    def query(self, soql: str) -> dict[str, Any]:
        """`GET /query?q=...`: the first page (`records`, `totalSize`, `done`)."""
        return self._call(lambda sf: sf.query(soql))

    def limits(self) -> dict[str, Any]:
        """`GET /limits/`; also records DailyApiRequests as the connection's usage."""
        body = self._call(lambda sf: sf.limits())
        daily = body.get("DailyApiRequests") or {}
        if "Max" in daily and "Remaining" in daily:
            self.tokens.usage_seen(used=daily["Max"] - daily["Remaining"], limit=daily["Max"])
        return body

    def userinfo(self) -> dict[str, Any]:
        """`GET {instance}/services/oauth2/userinfo`: the connected user and org."""

        def op(sf: Salesforce) -> dict[str, Any]:
            url = f"https://{sf.sf_instance}/services/oauth2/userinfo"
            response = sf.session.get(url, headers=sf.headers)
            if response.status_code >= 300:
                try:
                    body: Any = response.json()
                except ValueError:
                    body = response.text
                raise error_from_response(response.status_code, body)
            return response.json()

        return self._call(op)

    # -- machinery --------------------------------------------------------------------------

    def _call(self, operation: Callable[[Salesforce], T]) -> T:
        """Run `operation` with the source's current token; on a session error ask the
        source for a new token once and run it again."""
        credentials = self.tokens.credentials()
        if not credentials.access_token:
            credentials = self.tokens.refresh(failed_access_token="")
        for attempt in (1, 2):
            sf = self._salesforce(credentials)
            try:
                result = operation(sf)
            except (SalesforceError, *VENDOR_EXCEPTIONS) as exc:
                error = error_from_exception(exc)
                if error.kind is Kind.SESSION and attempt == 1:
                    credentials = self.tokens.refresh(failed_access_token=sf.session_id)
                    continue
                if error.kind is Kind.SESSION:
                    # Refused again with a token Salesforce has just issued: refreshing
                    # more will not help ("This session is not valid for use with the REST
                    # API": no `api` scope, or an IP-locked session). Staff must
                    # reconnect, so it is a connection error, not a retryable one.
                    error = SalesforceError(
                        Kind.CONNECTION,
                        error.code,
                        error.message,
                        fields=error.fields,
                        http_status=error.http_status,
                        details=error.details,
                    )
                raise error from None
            finally:
                self._usage_collect(sf)
            return result
        raise AssertionError("unreachable")  # pragma: no cover

    def _salesforce(self, credentials: Credentials) -> Salesforce:
        self._sobjects = []
        return Salesforce(
            instance_url=credentials.instance_url,
            session_id=credentials.access_token,
            session=http.shared_session(),
            version=credentials.api_version,
        )

    def _sobject(self, sf: Salesforce, name: str) -> SFType:
        # simple-salesforce builds a new SFType per attribute access and puts the call's
        # Sforce-Limit-Info on it, not on `sf`: keep it to read usage.
        sobject = getattr(sf, name)
        self._sobjects.append(sobject)
        return sobject

    def _usage_collect(self, sf: Salesforce) -> None:
        usage = None
        for holder in [sf, *self._sobjects]:
            usage = getattr(holder, "api_usage", {}).get("api-usage") or usage
        if usage is not None:
            self.tokens.usage_seen(used=usage.used, limit=usage.total)

    @staticmethod
    def _check_size(records: list[dict[str, Any]]) -> None:
        if not 0 < len(records) <= COLLECTION_MAX:
            raise ValueError(f"a collection holds 1 to {COLLECTION_MAX} records")


def _record_result(item: dict[str, Any]) -> RecordResult:
    if item.get("success"):
        return RecordResult(id=item.get("id"), success=True, created=item.get("created"))
    return RecordResult(
        id=item.get("id"),
        success=False,
        created=item.get("created"),
        error=error_from_record_errors(item.get("errors") or []),
    )

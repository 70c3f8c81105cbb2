"""The one Salesforce client: simple-salesforce built from a SalesforceConnection.

- Every call goes over the process's shared requests session (integrations.salesforce.http:
  default timeout, pinned CA bundle).
- A 401 INVALID_SESSION_ID refreshes the access token once, under the connection's row
  lock (services.connection_token_refresh), and retries the call once.
- `Sforce-Limit-Info` of successful calls is recorded on the connection.
- Every failure is raised as integrations.salesforce.errors.SalesforceError.

Nothing else in the project imports simple_salesforce or talks to Salesforce's REST API.
A client is cheap; build one per task / request (`SalesforceClient(connection)`), do not
share one between threads.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from django.conf import settings
from simple_salesforce import Salesforce, SFType
from simple_salesforce.format import format_external_id

from integrations.crypto import InvalidToken
from integrations.models import SalesforceConnection
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
COLLECTION_MAX = 200  # records per sObject Collections request (reference §3)


@dataclass(frozen=True)
class RecordResult:
    """One record's outcome in a create / upsert. `error` is None on success."""

    id: str | None
    success: bool
    created: bool | None = None
    error: SalesforceError | None = None


class SalesforceClient:
    """Salesforce REST calls on behalf of one connection (see module docstring)."""

    def __init__(self, connection: SalesforceConnection) -> None:
        self.connection = connection
        self._sobjects: list[SFType] = []

    # -- the calls the product makes ------------------------------------------------------

    def describe(self, sobject: str) -> dict[str, Any]:
        """`GET /sobjects/{sobject}/describe`."""
        return self._call(lambda sf: self._sobject(sf, sobject).describe())

    def create(self, sobject: str, record: dict[str, Any]) -> RecordResult:
        """`POST /sobjects/{sobject}/`. Raises SalesforceError when Salesforce refuses."""
        body = self._call(lambda sf: self._sobject(sf, sobject).create(record))
        return RecordResult(id=body.get("id"), success=True, created=True)

    def upsert(
        self, sobject: str, external_id_field: str, external_id: str, record: dict[str, Any]
    ) -> RecordResult:
        """`PATCH /sobjects/{sobject}/{field}/{value}`: create or update by external id.
        Raises SalesforceError (MULTIPLE_RECORDS when the id matches several records)."""
        key = format_external_id(external_id_field, external_id)

        def op(sf: Salesforce) -> RecordResult:
            response = self._sobject(sf, sobject).upsert(key, record, raw_response=True)
            body = response.json() if response.content else {}
            created = body.get("created", response.status_code == 201)
            return RecordResult(id=body.get("id"), success=True, created=created)

        return self._call(op)

    def collection_create(
        self, records: list[dict[str, Any]], *, all_or_none: bool = False
    ) -> list[RecordResult]:
        """`POST /composite/sobjects` (one API call for up to 200 records). Each record
        carries `{"attributes": {"type": "Lead"}}`. Results are in request order."""
        self._check_size(records)
        body = {"allOrNone": all_or_none, "records": records}
        results = self._call(lambda sf: sf.restful("composite/sobjects", method="POST", json=body))
        return [_record_result(item) for item in results or []]

    def collection_upsert(
        self,
        sobject: str,
        external_id_field: str,
        records: list[dict[str, Any]],
        *,
        all_or_none: bool = False,
    ) -> list[RecordResult]:
        """`PATCH /composite/sobjects/{sobject}/{field}`: upsert up to 200 records by
        external id in one API call. Results are in request order."""
        self._check_size(records)
        body = {"allOrNone": all_or_none, "records": records}
        path = f"composite/sobjects/{sobject}/{external_id_field}"
        results = self._call(lambda sf: sf.restful(path, method="PATCH", json=body))
        return [_record_result(item) for item in results or []]

    def query(self, soql: str) -> dict[str, Any]:
        """`GET /query?q=...`: the first page (`records`, `totalSize`, `done`)."""
        return self._call(lambda sf: sf.query(soql))

    def limits(self) -> dict[str, Any]:
        """`GET /limits/`; also records DailyApiRequests as the connection's usage."""
        body = self._call(lambda sf: sf.limits())
        daily = body.get("DailyApiRequests") or {}
        if "Max" in daily and "Remaining" in daily:
            self._usage_store(daily["Max"] - daily["Remaining"], daily["Max"])
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
        """Run `operation` with a Salesforce built from the stored token; on a session
        error refresh once and run it again."""
        from integrations import services  # services builds clients: import at call time

        if not self.connection.access_token_encrypted:
            self.connection = services.connection_token_refresh(
                connection=self.connection, failed_access_token=""
            )
        for attempt in (1, 2):
            sf = self._salesforce()
            try:
                result = operation(sf)
            except (SalesforceError, *VENDOR_EXCEPTIONS) as exc:
                error = error_from_exception(exc)
                if error.kind is Kind.SESSION and attempt == 1:
                    self.connection = services.connection_token_refresh(
                        connection=self.connection, failed_access_token=sf.session_id
                    )
                    continue
                if error.kind is Kind.SESSION:
                    # Refused again with a token Salesforce has just issued: refreshing
                    # more will not help ("This session is not valid for use with the REST
                    # API": no `api` scope, or an IP-locked session; reference §3). Staff
                    # must reconnect, so it is a connection error, not a retryable one.
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

    def _salesforce(self) -> Salesforce:
        connection = self.connection
        self._sobjects = []
        try:
            token = connection.access_token
        except InvalidToken:
            raise token_unreadable() from None
        return Salesforce(
            instance_url=connection.instance_url,
            session_id=token,
            session=http.shared_session(),
            version=connection.api_version or settings.SALESFORCE_API_VERSION,
        )

    def _sobject(self, sf: Salesforce, name: str) -> SFType:
        # simple-salesforce builds a new SFType per attribute access and puts the call's
        # Sforce-Limit-Info on it, not on `sf` (reference §6): keep it to read usage.
        sobject = getattr(sf, name)
        self._sobjects.append(sobject)
        return sobject

    def _usage_collect(self, sf: Salesforce) -> None:
        usage = None
        for holder in [sf, *self._sobjects]:
            usage = getattr(holder, "api_usage", {}).get("api-usage") or usage
        if usage is not None:
            self._usage_store(usage.used, usage.total)

    def _usage_store(self, used: int, limit: int) -> None:
        connection = self.connection
        if (connection.api_usage, connection.api_limit) == (used, limit):
            return
        connection.api_usage, connection.api_limit = used, limit
        SalesforceConnection.objects.filter(pk=connection.pk).update(
            api_usage=used, api_limit=limit
        )

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


def token_unreadable() -> SalesforceError:
    return SalesforceError(
        Kind.CONNECTION,
        "TOKEN_UNREADABLE",
        "The stored token cannot be decrypted with FIELD_ENCRYPTION_KEYS.",
    )


def client_for(connection: SalesforceConnection) -> SalesforceClient:
    """A client for `connection` (the seam unit tests patch)."""
    return SalesforceClient(connection)

"""One classification of every Salesforce failure (DESIGN.md "Error classes")."""

import pytest
import requests
from simple_salesforce.exceptions import SalesforceExpiredSession, SalesforceMalformedRequest

from integrations.salesforce.errors import (
    Kind,
    error_from_exception,
    error_from_oauth,
    error_from_record_errors,
    error_from_response,
)


@pytest.mark.parametrize(
    ("error", "description", "kind"),
    [
        ("invalid_grant", "expired access/refresh token", Kind.CONNECTION),
        ("invalid_grant", "ip restricted", Kind.CONNECTION),
        ("invalid_grant", "inactive user", Kind.CONNECTION),
        ("invalid_grant", "token request is already being processed", Kind.TRANSIENT),
        ("OAUTH_APP_BLOCKED", "this app is blocked by admin", Kind.CONNECTION),
        ("invalid_app_access", "user is not admin approved to access this app", Kind.CONNECTION),
        ("invalid_client", "invalid client credentials", Kind.CONNECTION),
        ("invalid_client_id", "client identifier invalid", Kind.CONNECTION),
        ("rate_limit_exceeded", "number of logins exceeded", Kind.TRANSIENT),
    ],
)
def test_oauth_errors(error, description, kind):
    classified = error_from_oauth(error, description, http_status=400)
    assert (classified.kind, classified.code, classified.message) == (kind, error, description)


@pytest.mark.parametrize(
    ("status", "code", "kind"),
    [
        (401, "INVALID_SESSION_ID", Kind.SESSION),
        (503, "SERVER_UNAVAILABLE", Kind.TRANSIENT),
        (400, "UNABLE_TO_LOCK_ROW", Kind.TRANSIENT),
        (403, "REQUEST_LIMIT_EXCEEDED", Kind.TRANSIENT),
        (403, "API_DISABLED_FOR_ORG", Kind.CONNECTION),
        (400, "REQUIRED_FIELD_MISSING", Kind.PERMANENT),
        (400, "INVALID_FIELD_FOR_INSERT_UPDATE", Kind.PERMANENT),
        (400, "DUPLICATES_DETECTED", Kind.PERMANENT),
        (404, "NOT_FOUND", Kind.PERMANENT),
        (500, "UNKNOWN_EXCEPTION", Kind.TRANSIENT),
    ],
)
def test_rest_error_arrays(status, code, kind):
    body = [{"message": "m", "errorCode": code, "fields": ["Company"]}]
    error = error_from_response(status, body)
    assert (error.kind, error.code, error.fields, error.http_status) == (
        kind,
        code,
        ["Company"],
        status,
    )
    assert error.retryable is (kind in (Kind.TRANSIENT, Kind.SESSION))


def test_gateway_html_and_userinfo_403_and_multiple_matches():
    gateway = error_from_response(502, "<html>Bad gateway</html>")
    assert (gateway.kind, gateway.code) == (Kind.TRANSIENT, "HTTP_502")
    userinfo = error_from_response(403, "Bad_OAuth_Token")
    assert (userinfo.kind, userinfo.code) == (Kind.SESSION, "INVALID_SESSION_ID")
    several = error_from_response(300, ["/services/data/v59.0/sobjects/Lead/00Q1"])
    assert (several.kind, several.code) == (Kind.PERMANENT, "MULTIPLE_RECORDS")


def test_duplicate_details_are_kept():
    body = [
        {
            "errorCode": "DUPLICATES_DETECTED",
            "message": "Use one of these records?",
            "duplicateResut": {"allowSave": True},
        }
    ]
    assert error_from_response(400, body).details == body


def test_collection_record_errors_use_status_code():
    error = error_from_record_errors(
        [{"statusCode": "STRING_TOO_LONG", "message": "too long", "fields": ["Title"]}]
    )
    assert (error.kind, error.code, error.fields) == (Kind.PERMANENT, "STRING_TOO_LONG", ["Title"])
    assert error_from_record_errors([{"statusCode": "UNABLE_TO_LOCK_ROW"}]).kind is Kind.TRANSIENT


def test_vendor_exceptions():
    expired = SalesforceExpiredSession(
        "u",
        401,
        "Lead",
        [{"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}],
    )
    assert error_from_exception(expired).kind is Kind.SESSION
    malformed = SalesforceMalformedRequest(
        "u", 400, "Lead", [{"message": "x", "errorCode": "STRING_TOO_LONG", "fields": ["Title"]}]
    )
    assert error_from_exception(malformed).code == "STRING_TOO_LONG"
    assert error_from_exception(requests.ConnectTimeout()).code == "TIMEOUT"
    assert error_from_exception(requests.ConnectionError("refused")).code == "CONNECTION_ERROR"
    assert error_from_exception(requests.exceptions.SSLError("bad cert")).code == "TLS_ERROR"
    with pytest.raises(TypeError):
        error_from_exception(KeyError("not ours"))

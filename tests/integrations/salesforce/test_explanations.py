"""One table explains every delivery error code, for the dashboard and the emails alike."""

import pytest

from integrations.salesforce.explanations import (
    TABLE,
    Explanation,
    FieldSource,
    Remedy,
    explain,
)
from integrations.salesforce.mapping import Code

SALESFORCE_CODES = [
    "REQUIRED_FIELD_MISSING",
    "INVALID_FIELD_FOR_INSERT_UPDATE",
    "INVALID_FIELD",
    "STRING_TOO_LONG",
    "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
    "INVALID_EMAIL_ADDRESS",
    "FIELD_CUSTOM_VALIDATION_EXCEPTION",
    "DUPLICATES_DETECTED",
    "DUPLICATE_VALUE",
    "FIELD_INTEGRITY_EXCEPTION",
    "REQUEST_LIMIT_EXCEEDED",
    "UNABLE_TO_LOCK_ROW",
    "SERVER_UNAVAILABLE",
    "INVALID_SESSION_ID",
    "API_DISABLED_FOR_ORG",
    "INSUFFICIENT_ACCESS_OR_READONLY",
    "INSUFFICIENT_ACCESS",
]
CONNECTION_CODES = ["invalid_grant", "OAUTH_APP_BLOCKED", "API_DISABLED_FOR_ORG", "inactive_org"]
DEFAULT_TITLE = "Salesforce refused the record"


# Ours too: the pipeline's own codes for a lost worker or a missing connection.
PIPELINE_CODES = ["CLAIM_EXPIRED", "NOT_CONNECTED", "TIMEOUT", "CONNECTION_ERROR"]


@pytest.mark.parametrize(
    "code", SALESFORCE_CODES + [c.value for c in Code] + CONNECTION_CODES + PIPELINE_CODES
)
def test_every_listed_code_has_its_own_explanation_and_fix(code):
    explanation = explain(code, "some message", fields=["Company"])
    assert isinstance(explanation, Explanation)
    assert explanation.title and explanation.fix
    assert not explanation.title.startswith(DEFAULT_TITLE), f"{code} falls back to the default"
    assert "{" not in explanation.title + explanation.fix, "a placeholder was left unfilled"


def test_required_field_missing_names_the_question_behind_the_field():
    explanation = explain(
        "REQUIRED_FIELD_MISSING",
        "Required fields are missing: [Company]",
        fields=["Company"],
        sources={"Company": FieldSource("question", "Your company", required=False)},
    )
    assert "Company" in explanation.title
    assert "Make the question “Your company” required" in explanation.fix
    assert "or map a constant to Company" in explanation.fix


def test_required_field_missing_without_a_mapping_says_to_map_the_field():
    explanation = explain("REQUIRED_FIELD_MISSING", fields=["Company", "LastName"])
    assert "Map Company to a required question or a constant" in explanation.fix
    assert "Map LastName to a required question or a constant" in explanation.fix


def test_a_fix_names_the_source_of_the_field():
    explanation = explain(
        "STRING_TOO_LONG",
        "Company: data value too large: XYZ (max length=40)",
        fields=["Company"],
        sources={"Company": FieldSource("question", "Company name")},
    )
    assert "the question “Company name”" in explanation.fix


def test_connection_codes_are_explained_by_the_connection_diagnosis():
    explanation = explain("invalid_grant", "ip restricted or invalid login hours")
    assert explanation.remedy is Remedy.RECONNECT
    assert "IP restrictions" in explanation.title
    assert "Relax IP restrictions" in explanation.fix  # the Salesforce setting to change

    api = explain("API_DISABLED_FOR_ORG", "The REST API is not enabled for this Organization.")
    assert api.title == "The REST API is not enabled for this Salesforce org."


def test_transient_codes_say_leadsync_retries_by_itself():
    for code in ["UNABLE_TO_LOCK_ROW", "SERVER_UNAVAILABLE", "REQUEST_LIMIT_EXCEEDED", "HTTP_503"]:
        assert explain(code).remedy is Remedy.WAITS, code


def test_unknown_codes_get_a_default_that_quotes_salesforce():
    explanation = explain("SOMETHING_NEW", "Salesforce has a new complaint", fields=["Foo__c"])
    assert explanation.title == f"{DEFAULT_TITLE} about Foo__c: Salesforce has a new complaint"
    assert explanation.remedy is Remedy.FIX_AND_RESEND
    assert explain("").title.startswith(DEFAULT_TITLE)


def test_the_table_covers_every_pre_send_check_code():
    assert {c.value for c in Code} <= set(TABLE)

"""The diagnosis table: each known failure in plain words, with the setting to change."""

from datetime import timedelta

import pytest
from django.utils import timezone

from integrations.salesforce.diagnostics import diagnose


@pytest.mark.parametrize(
    ("code", "message", "key", "setting"),
    [
        ("OAUTH_APP_BLOCKED", "this app is blocked by admin", "app_blocked", "OAuth Usage"),
        ("OAUTH_APP_ACCESS_DENIED", "user is not admin approved to access this app",
         "admin_approved_only", "Permitted Users"),
        ("invalid_app_access", "user is not admin approved to access this app",
         "admin_approved_only", "Permitted Users"),
        ("invalid_grant", "ip restricted", "ip_restricted", "IP Relaxation"),
        ("invalid_grant", "ip restricted or invalid login hours", "ip_restricted", "IP Relaxation"),
        ("invalid_grant", "expired access/refresh token", "refresh_token_policy",
         "Refresh Token Policy"),
        ("invalid_grant", "inactive user", "user_inactive", None),
        ("inactive_user", "user is inactive", "user_inactive", None),
        ("API_DISABLED_FOR_ORG", "The REST API is not enabled for this Organization.",
         "api_disabled", None),
        ("invalid_client_id", "client identifier invalid", "wrong_consumer_key", "Consumer Key"),
        ("invalid_client", "invalid client credentials", "wrong_consumer_secret",
         "Consumer Secret"),
        ("redirect_uri_mismatch", "redirect_uri must match configuration",
         "redirect_uri_mismatch", "Callback URL"),
        ("access_denied", "end-user denied authorization", "access_denied", None),
        ("invalid_request", "invalid code verifier", "flow_not_verified", None),
        ("invalid_grant", "token request is already being processed", "refresh_in_progress",
         None),
    ],
)  # fmt: skip
def test_known_failures(code, message, key, setting):
    diagnosis = diagnose(code, message, connected_at=timezone.now())
    assert diagnosis.key == key
    assert diagnosis.title and diagnosis.action
    if setting:
        assert setting in diagnosis.setting


def test_the_four_connected_app_settings_have_current_and_required_values():
    for code, message in [
        ("OAUTH_APP_BLOCKED", ""),
        ("OAUTH_APP_ACCESS_DENIED", "user is not admin approved to access this app"),
        ("invalid_grant", "ip restricted"),
        ("invalid_grant", "expired access/refresh token"),
    ]:
        diagnosis = diagnose(code, message, connected_at=timezone.now())
        assert diagnosis.setting.startswith("Setup → ")
        assert diagnosis.current and diagnosis.required


def test_expired_token_long_after_connecting_reads_as_revoked_but_still_names_the_policy():
    diagnosis = diagnose(
        "invalid_grant",
        "expired access/refresh token",
        connected_at=timezone.now() - timedelta(days=30),
    )
    assert "no longer accepts" in diagnosis.title
    assert "Refresh Token Policy" in diagnosis.setting


def test_redirect_mismatch_names_this_deployments_callback(settings):
    settings.SITE_URL = "https://leadsync.example.com"
    diagnosis = diagnose("redirect_uri_mismatch", "")
    assert diagnosis.required == "https://leadsync.example.com/salesforce/oauth/callback/"


def test_no_error_no_diagnosis_and_unknown_errors_quote_salesforce():
    assert diagnose("", "") is None
    unknown = diagnose("WEIRD_THING", "Something odd")
    assert unknown.key == "unknown" and "WEIRD_THING" in unknown.title

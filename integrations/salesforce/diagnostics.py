"""What a Salesforce connection error means, in plain words, and which setting fixes it.

ONE table, used by the OAuth callback, "Test connection" and the admin banner. Each row
matches Salesforce's error code (OAuth `error` or REST `errorCode`), optionally a phrase
of its message. Rows cover the four Connected App settings a working connection needs
(not blocked, self-authorized users, relaxed IP restrictions, refresh tokens valid until
revoked) and the usual OAuth refusals; the Setup paths are those of Lightning Setup:
https://help.salesforce.com/s/articleView?id=xcloud.connected_app_manage_oauth.htm
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace

from django.utils import timezone

from integrations.salesforce.oauth import callback_url

APP_POLICIES = "Setup → Apps → Connected Apps → Manage Connected Apps → (your LeadSync app) → "
APP_POLICIES += "Edit Policies → OAuth Policies"
APP_SETTINGS = "Setup → Apps → App Manager → (your LeadSync app) → Edit → API (Enable OAuth "
APP_SETTINGS += "Settings)"
# "expired access/refresh token" this soon after connecting points at the Refresh Token
# Policy rather than at someone revoking access (DESIGN.md rule 4).
SOON_AFTER_CONNECTING = dt.timedelta(days=1)


@dataclass(frozen=True)
class Diagnosis:
    """One known failure. `setting`/`current`/`required` name the Salesforce setting to
    change (None when no setting is at fault); `action` says what to do next."""

    key: str
    title: str
    explanation: str
    action: str
    setting: str | None = None
    current: str | None = None
    required: str | None = None


@dataclass(frozen=True)
class _Row:
    codes: tuple[str, ...]
    phrase: str  # lower-case substring of the message; "" matches any message
    diagnosis: Diagnosis


RECONNECT = "Then click “Connect Salesforce” again."

TABLE: tuple[_Row, ...] = (
    # -- the four Connected App settings that break integrations (DESIGN.md rules 1-4) --
    _Row(
        ("OAUTH_APP_BLOCKED",),
        "",
        Diagnosis(
            "app_blocked",
            "Your Salesforce admin has blocked the LeadSync app.",
            "Salesforce refuses every sign-in and token refresh of a blocked Connected App.",
            f"Unblock the app. {RECONNECT}",
            setting="Setup → Apps → Connected Apps → Connected Apps OAuth Usage → "
            "(your LeadSync app)",
            current="Blocked",
            required="Unblock",
        ),
    ),
    _Row(
        ("OAUTH_APP_ACCESS_DENIED", "invalid_app_access", "invalid_grant"),
        "not admin approved",
        Diagnosis(
            "admin_approved_only",
            "The Salesforce user is not pre-authorised to use the LeadSync app.",
            "The Connected App only admits users an admin approved in advance, and this "
            "user's profile or permission set is not assigned to it.",
            "Let users self-authorise (or assign the user's profile or permission set to "
            f"the app under Manage Profiles / Manage Permission Sets). {RECONNECT}",
            setting=f"{APP_POLICIES} → Permitted Users",
            current="Admin approved users are pre-authorized",
            required="All users may self-authorize",
        ),
    ),
    _Row(
        ("invalid_grant",),
        "ip restricted",
        Diagnosis(
            "ip_restricted",
            "Salesforce refuses LeadSync's server because of IP restrictions.",
            "The Connected App enforces the user's login IP ranges, and LeadSync's servers "
            "are outside them, so every token refresh is refused.",
            f"Relax IP restrictions for the app. {RECONNECT}",
            setting=f"{APP_POLICIES} → IP Relaxation",
            current="Enforce IP restrictions",
            required="Relax IP restrictions",
        ),
    ),
    _Row(
        ("invalid_grant",),
        "expired access/refresh token",
        Diagnosis(
            "refresh_token_policy",
            "Salesforce expired LeadSync's access soon after it was granted.",
            "The Connected App's Refresh Token Policy ends the refresh token (immediately, "
            "or after a set time), so LeadSync loses access to the org.",
            f"Make refresh tokens valid until revoked. {RECONNECT}",
            setting=f"{APP_POLICIES} → Refresh Token Policy",
            current="Immediately expire refresh token (or: Expire refresh token after / if "
            "not used for …)",
            required="Refresh token is valid until revoked",
        ),
    ),
    # -- users, orgs and configuration -------------------------------------------------------
    _Row(
        ("invalid_grant", "inactive_user"),
        "inactive",
        Diagnosis(
            "user_inactive",
            "The Salesforce user who connected LeadSync has been deactivated.",
            "Salesforce does not issue tokens for an inactive user.",
            "Reactivate the user (Setup → Users → Users → Edit → Active), or connect "
            "again signed in as an active user.",
        ),
    ),
    _Row(
        ("inactive_org",),
        "",
        Diagnosis(
            "org_inactive",
            "The Salesforce org is locked, closed or suspended.",
            "Salesforce issues no tokens for an inactive org.",
            "Contact your Salesforce account executive or support.",
        ),
    ),
    _Row(
        ("API_DISABLED_FOR_ORG",),
        "",
        Diagnosis(
            "api_disabled",
            "The REST API is not enabled for this Salesforce org.",
            "Your Salesforce edition has no API access (Enterprise, Unlimited, Performance "
            "and Developer Editions have it; Professional Edition needs the API add-on).",
            "Ask Salesforce to enable API access for the org.",
        ),
    ),
    _Row(
        ("API_CURRENTLY_DISABLED",),
        "",
        Diagnosis(
            "api_disabled_for_user",
            "The Salesforce user may not use the API.",
            "The user's profile lacks the “API Enabled” permission.",
            f"Give the user the permission. {RECONNECT}",
            setting="Setup → Users → Profiles → (the user's profile) → System Permissions "
            "→ API Enabled",
            current="Off",
            required="On",
        ),
    ),
    _Row(
        ("invalid_client_id",),
        "",
        Diagnosis(
            "wrong_consumer_key",
            "Salesforce does not recognise LeadSync's consumer key.",
            "SALESFORCE_CONSUMER_KEY of this deployment is not the Connected App's Consumer "
            "Key (or the app is new: Salesforce takes up to 10 minutes to publish it).",
            "Copy the Consumer Key into SALESFORCE_CONSUMER_KEY and restart LeadSync.",
            setting=f"{APP_SETTINGS} → Manage Consumer Details → Consumer Key",
        ),
    ),
    _Row(
        ("invalid_client",),
        "",
        Diagnosis(
            "wrong_consumer_secret",
            "Salesforce refuses LeadSync's consumer secret.",
            "SALESFORCE_CONSUMER_SECRET of this deployment is not the Connected App's "
            "Consumer Secret (it may have been rotated).",
            "Copy the Consumer Secret into SALESFORCE_CONSUMER_SECRET and restart LeadSync.",
            setting=f"{APP_SETTINGS} → Manage Consumer Details → Consumer Secret",
        ),
    ),
    _Row(
        ("redirect_uri_mismatch",),
        "",
        Diagnosis(
            "redirect_uri_mismatch",
            "The Connected App's Callback URL does not match LeadSync's address.",
            "Salesforce only sends the browser back to a Callback URL listed in the app.",
            f"Add LeadSync's callback URL to the app. {RECONNECT}",
            setting=f"{APP_SETTINGS} → Callback URL",
            required="{callback_url}",
        ),
    ),
    _Row(
        ("access_denied",),
        "",
        Diagnosis(
            "access_denied",
            "Access was denied on Salesforce's “Allow Access?” page.",
            "LeadSync can only sync bookings after you allow it to access Salesforce.",
            "Click “Connect Salesforce” again and choose Allow.",
        ),
    ),
    _Row(
        ("STATE_MISMATCH", "invalid_request"),
        "",
        Diagnosis(
            "flow_not_verified",
            "The Salesforce sign-in could not be verified, so nothing was saved.",
            "The answer from Salesforce did not match the sign-in this browser started "
            "(state or PKCE check). This happens with an old or copied link.",
            "Start again with “Connect Salesforce” on the connection page.",
        ),
    ),
    _Row(
        ("invalid_grant",),
        "authorization code",
        Diagnosis(
            "code_expired",
            "The Salesforce sign-in took too long or was used twice.",
            "Authorisation codes are valid once, for a few minutes.",
            "Click “Connect Salesforce” again.",
        ),
    ),
    _Row(
        ("NOT_CONFIGURED",),
        "",
        Diagnosis(
            "not_configured",
            "This LeadSync installation has no Salesforce Connected App configured.",
            "SALESFORCE_CONSUMER_KEY and SALESFORCE_CONSUMER_SECRET are not set.",
            "Ask whoever runs LeadSync to set them.",
        ),
    ),
    _Row(
        ("TOKEN_UNREADABLE",),
        "",
        Diagnosis(
            "token_unreadable",
            "LeadSync cannot read the stored Salesforce tokens.",
            "They were encrypted with a key no longer in FIELD_ENCRYPTION_KEYS.",
            f"Restore the key, or reconnect. {RECONNECT}",
        ),
    ),
    # -- passing trouble -----------------------------------------------------------------------
    _Row(
        ("invalid_grant",),
        "already being processed",
        Diagnosis(
            "refresh_in_progress",
            "Salesforce was busy refreshing LeadSync's access.",
            "Another refresh with the same token was running; this resolves itself.",
            "Try again in a moment.",
        ),
    ),
    _Row(
        ("REQUEST_LIMIT_EXCEEDED",),
        "",
        Diagnosis(
            "api_limit",
            "The Salesforce org has used up its API requests for now.",
            "The org's daily API limit (shared by every integration) is reached.",
            "Deliveries resume by themselves as the 24-hour window moves on.",
        ),
    ),
    _Row(
        ("TIMEOUT", "CONNECTION_ERROR", "SERVER_UNAVAILABLE", "BAD_RESPONSE"),
        "",
        Diagnosis(
            "unreachable",
            "Salesforce could not be reached just now.",
            "The request timed out, the connection failed, or Salesforce was unavailable.",
            "Nothing to change; LeadSync retries. Test the connection again later.",
        ),
    ),
    _Row(
        ("TLS_ERROR",),
        "",
        Diagnosis(
            "tls",
            "LeadSync could not verify Salesforce's certificate.",
            "The TLS handshake failed (SALESFORCE_CA_BUNDLE, or a proxy in the way).",
            "Ask whoever runs LeadSync to check the server's trusted certificates.",
        ),
    ),
)


def diagnose(
    code: str, message: str = "", *, connected_at: dt.datetime | None = None
) -> Diagnosis | None:
    """The diagnosis for an error code and message, or None for "" (no error).

    Unknown errors get a generic diagnosis that quotes Salesforce.
    """
    if not code:
        return None
    text = (message or "").lower()
    for row in TABLE:
        if code in row.codes and row.phrase in text:
            return _specialised(row.diagnosis, connected_at)
    return Diagnosis(
        "unknown",
        f"Salesforce answered: {code}",
        message or "No further detail from Salesforce.",
        "Test the connection again; if it persists, reconnect.",
    )


def _specialised(diagnosis: Diagnosis, connected_at: dt.datetime | None) -> Diagnosis:
    if diagnosis.key == "redirect_uri_mismatch":
        return replace(diagnosis, required=callback_url())
    if diagnosis.key == "refresh_token_policy":
        soon = connected_at is not None and timezone.now() - connected_at < SOON_AFTER_CONNECTING
        if not soon:  # could as well be a revoked token; say both
            return replace(
                diagnosis,
                title="Salesforce no longer accepts LeadSync's access.",
                explanation="The refresh token was revoked (by a user or an admin, or a 6th "
                "connection of the same user) or expired under the Connected App's Refresh "
                "Token Policy.",
            )
    return diagnosis

"""OAuth 2.0 web server flow with PKCE, refresh, userinfo and revoke (reference §1-2).

Handlers take ``(org, request)`` and return a werkzeug Response. They take
``org.lock`` themselves, because the refresh grant must sleep (latency) between marking
its refresh token "in flight" and finishing, without holding the lock.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import html
import time
from typing import Any
from urllib.parse import urlencode

from werkzeug.utils import redirect
from werkzeug.wrappers import Request, Response

from .faults import take_fail_next
from .org import DEFAULT_SCOPE, USER_NAME, Org
from .responses import json_response, oauth_error
from .tokens import CODE_TTL_SECONDS, AuthCode

KNOWN_SCOPES = {"api", "refresh_token", "offline_access", "full", "id", "profile", "email"}
KNOWN_SCOPES |= {"address", "phone", "openid", "web", "chatter_api"}
EXPIRED_REFRESH = "expired access/refresh token"
NOT_APPROVED = "user is not admin approved to access this app"
ERROR_PAGE = "/setup/secur/RemoteAccessErrorPage.apexp"


def _latency(org: Org) -> None:
    with org.lock:
        delay = org.faults["latency_ms"] / 1000
    if delay:
        time.sleep(delay)


# -- authorize -------------------------------------------------------------------------------


def authorize(org: Org, request: Request) -> Response:
    """GET shows the consent page; POST (the page's form) redirects with a code or error.

    An unknown client_id or an unregistered redirect_uri never redirects to that URI
    (it cannot be trusted); like Salesforce, the browser goes to an error page on the
    login host instead, with ``error`` and ``error_description`` in its query.
    """
    _latency(org)
    params = request.form if request.method == "POST" else request.args
    with org.lock:
        org.oauth_calls["authorize"] += 1
        app = org.app
        if params.get("client_id") != app.client_id:
            return _error_page("invalid_client_id", "client identifier invalid")
        redirect_uri = params.get("redirect_uri", "")
        if redirect_uri not in app.callback_urls:
            return _error_page("redirect_uri_mismatch", "redirect_uri must match configuration")
        state = params.get("state")
        if params.get("response_type") != "code":
            return _back(
                redirect_uri,
                state,
                error=("unsupported_response_type", "response type not supported"),
            )
        scopes = (params.get("scope") or DEFAULT_SCOPE).split()
        if not set(scopes) <= KNOWN_SCOPES:
            return _back(
                redirect_uri, state, error=("invalid_scope", "the requested scope is not allowed")
            )
        if request.method == "GET":
            return _consent_page(app.name, org.username, params)
        return _decide(org, params, redirect_uri, state, " ".join(scopes))


def _decide(org: Org, params: Any, redirect_uri: str, state: str | None, scope: str) -> Response:
    if params.get("action") != "allow":
        return _back(redirect_uri, state, error=("access_denied", "end-user denied authorization"))
    if org.faults["app_blocked"]:
        return _back(
            redirect_uri, state, error=("OAUTH_APP_BLOCKED", "this app is blocked by admin")
        )
    if org.faults["admin_approved_only"]:
        return _back(redirect_uri, state, error=("OAUTH_APP_ACCESS_DENIED", NOT_APPROVED))
    challenge = params.get("code_challenge") or None
    method = params.get("code_challenge_method") or ("S256" if challenge else None)
    if challenge and method not in ("S256", "plain"):
        return _back(
            redirect_uri, state, error=("invalid_request", "invalid code_challenge_method")
        )
    grant = AuthCode(
        client_id=org.app.client_id,
        redirect_uri=redirect_uri,
        user_id=org.user_id,
        scope=scope,
        code_challenge=challenge,
        code_challenge_method=method,
        expires_at=org.now() + CODE_TTL_SECONDS,
    )
    return _back(redirect_uri, state, code=org.tokens.issue_code(grant))


def _back(redirect_uri: str, state: str | None, *, code=None, error=None) -> Response:
    query: dict[str, str] = {"code": code} if code else {}
    if error:
        query = {"error": error[0], "error_description": error[1]}
    if state is not None:
        query["state"] = state
    joiner = "&" if "?" in redirect_uri else "?"
    return redirect(redirect_uri + joiner + urlencode(query), 302)


def _error_page(error: str, description: str) -> Response:
    return redirect(
        ERROR_PAGE + "?" + urlencode({"error": error, "error_description": description}), 302
    )


def error_page(org: Org, request: Request) -> Response:
    error = html.escape(request.args.get("error", "unknown"))
    description = html.escape(request.args.get("error_description", ""))
    page = f"<!doctype html><title>Error</title><h1>OAuth Error</h1><p>{error}: {description}</p>"
    return Response(page, status=400, content_type="text/html; charset=utf-8")


_FORWARDED = ("response_type", "client_id", "redirect_uri", "state", "scope")
_FORWARDED += ("code_challenge", "code_challenge_method")


def _consent_page(app_name: str, username: str, params: Any) -> Response:
    hidden = "".join(
        f'<input type="hidden" name="{name}" value="{html.escape(params[name])}">'
        for name in _FORWARDED
        if params.get(name) is not None
    )
    page = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Allow Access? | Salesforce emulator</title>
<style>body{{font-family:sans-serif;max-width:32rem;margin:4rem auto}}
button{{font-size:1rem;padding:.5rem 1.5rem;margin-right:1rem}}</style></head>
<body><h1>Allow Access?</h1>
<p><strong>{html.escape(app_name)}</strong> is asking to access your Salesforce data.</p>
<p>Signed in as <strong id="username">{html.escape(username)}</strong>
({html.escape(USER_NAME)}). This is the LeadSync Salesforce emulator, not Salesforce.</p>
<form method="post" action="/services/oauth2/authorize">{hidden}
<button type="submit" name="action" value="allow" id="oaapprove">Allow</button>
<button type="submit" name="action" value="deny" id="oadeny">Deny</button>
</form></body></html>"""
    return Response(page, content_type="text/html; charset=utf-8")


# -- token -------------------------------------------------------------------------------------


def token(org: Org, request: Request) -> Response:
    """``POST /services/oauth2/token``: authorization_code and refresh_token grants."""
    form = request.form
    grant_type = form.get("grant_type")
    if grant_type == "refresh_token":
        return _refresh_grant(org, form)
    _latency(org)
    with org.lock:
        org.oauth_calls[f"token.{grant_type}"] += 1
        if grant_type != "authorization_code":
            return oauth_error("unsupported_grant_type", "grant type not supported")
        return _code_grant(org, form)


def _client_error(org: Org, form: Any) -> Response | None:
    if form.get("client_id") != org.app.client_id:
        return oauth_error("invalid_client_id", "client identifier invalid")
    secret = form.get("client_secret") or ""
    if not hmac.compare_digest(secret.encode(), org.app.client_secret.encode()):
        return oauth_error("invalid_client", "invalid client credentials")
    return None


def _policy_error(org: Org) -> Response | None:
    """Connected App and user policies, as DESIGN.md lists them (reference §2)."""
    faults = org.faults
    if faults["app_blocked"]:
        # Reference §2 [inf]: real Salesforce may answer invalid_grant here; we send the
        # authorize endpoint's code so the client can name the setting to change.
        return oauth_error("OAUTH_APP_BLOCKED", "this app is blocked by admin")
    if faults["admin_approved_only"]:
        return oauth_error("invalid_app_access", NOT_APPROVED)
    if faults["ip_restricted"]:
        return oauth_error("invalid_grant", "ip restricted")
    if faults["user_inactive"]:
        return oauth_error("invalid_grant", "inactive user")
    return None


def _pkce_error(grant: AuthCode, verifier: str | None) -> Response | None:
    if not grant.code_challenge:
        return None
    if not verifier:
        # Error code from reference §1; the description text is not captured [inf].
        return oauth_error("invalid_grant", "code verifier required")
    if grant.code_challenge_method == "plain":
        expected = verifier
    else:
        digest = hashlib.sha256(verifier.encode("ascii", "replace")).digest()
        expected = base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
    if not hmac.compare_digest(expected, grant.code_challenge):
        return oauth_error("invalid_request", "invalid code verifier")
    return None


def _code_grant(org: Org, form: Any) -> Response:
    error = _client_error(org, form)
    if error:
        return error
    grant = org.tokens.consume_code(form.get("code", ""), org.now())  # burnt even if refused below
    if grant is None or grant.client_id != form.get("client_id"):
        return oauth_error("invalid_grant", "expired authorization code")
    if form.get("redirect_uri") != grant.redirect_uri:
        return oauth_error("redirect_uri_mismatch", "redirect_uri must match configuration")
    error = _pkce_error(grant, form.get("code_verifier")) or _policy_error(org)
    if error:
        return error
    refresh = None
    if {"refresh_token", "offline_access"} & set(grant.scope.split()):
        refresh = org.tokens.issue_refresh(grant.client_id, grant.user_id, grant.scope)
    return _token_response(org, grant.user_id, grant.scope, refresh, refresh_source=refresh)


def _refresh_grant(org: Org, form: Any) -> Response:
    """Refresh, with the in-flight window of reference §1 ("already being processed").

    The token is marked in flight under the lock, latency is slept outside it, then the
    grant completes; a second refresh with the same token meanwhile gets the 400.
    """
    value = form.get("refresh_token", "")
    with org.lock:
        org.oauth_calls["token.refresh_token"] += 1
        error = _client_error(org, form) or _refresh_error(org, value)
        if error:
            return error
        org.tokens.refreshing.add(value)
    try:
        _latency(org)
        with org.lock:
            stored = org.tokens.valid_refresh(value)
            if stored is None:  # revoked while we slept
                return oauth_error("invalid_grant", EXPIRED_REFRESH)
            issued = None
            if org.faults["refresh_token_rotation"]:
                org.tokens.revoke_refresh(value)
                issued = org.tokens.issue_refresh(stored.client_id, stored.user_id, stored.scope)
            source = issued or value
            return _token_response(org, stored.user_id, stored.scope, issued, refresh_source=source)
    finally:
        with org.lock:
            org.tokens.refreshing.discard(value)


def _refresh_error(org: Org, value: str) -> Response | None:
    stored = org.tokens.valid_refresh(value)
    if stored is None or stored.client_id != org.app.client_id:
        return oauth_error("invalid_grant", EXPIRED_REFRESH)
    if org.faults["refresh_token_policy"] != "infinite":  # noqa: S105 (a policy name)
        return oauth_error("invalid_grant", EXPIRED_REFRESH)
    error = _policy_error(org)
    if error:
        return error
    forced = _take_token_in_progress(org)
    if forced or value in org.tokens.refreshing:
        return oauth_error("invalid_grant", "token request is already being processed")
    return None


def _take_token_in_progress(org: Org) -> bool:
    return take_fail_next(org.faults, {"refresh"}) == "token_in_progress"


def identity_url(org: Org, user_id: str) -> str:
    return f"{org.base_url}/id/{org.org_id}/{user_id}"


def _token_response(
    org: Org, user_id: str, scope: str, refresh: str | None, *, refresh_source: str | None
) -> Response:
    """Success body of reference §1; refresh_token only when one was issued now."""
    issued_at = str(int(org.now() * 1000))
    ttl = org.faults["access_token_ttl"]
    access = org.tokens.issue_access(user_id, scope, ttl, org.now(), refresh_source)
    identity = identity_url(org, user_id)
    mac = hmac.new(org.app.client_secret.encode(), (identity + issued_at).encode(), hashlib.sha256)
    body: dict[str, Any] = {"access_token": access}
    if refresh:
        body["refresh_token"] = refresh
    body.update(
        signature=base64.b64encode(mac.digest()).decode(),
        scope=scope,
        instance_url=org.base_url,
        id=identity,
        token_type="Bearer",  # noqa: S106
        issued_at=issued_at,
    )
    return json_response(body, headers={"Cache-Control": "no-store", "Pragma": "no-cache"})


# -- userinfo / identity / revoke ----------------------------------------------------------------


def userinfo(org: Org, request: Request) -> Response:
    """``GET /services/oauth2/userinfo`` and the identity URL ``/id/{org}/{user}``."""
    _latency(org)
    header = request.headers.get("Authorization", "")
    value = header[7:] if header.startswith("Bearer ") else request.args.get("oauth_token", "")
    with org.lock:
        org.oauth_calls["userinfo"] += 1
        if org.tokens.valid_access(value, org.now()) is None:
            # Salesforce's identity service answers a bad token with 403 Bad_OAuth_Token.
            return Response("Bad_OAuth_Token", status=403, content_type="text/plain")
        return json_response(_user_info(org))


def _user_info(org: Org) -> dict[str, Any]:
    rest = f"{org.base_url}/services/data/v{{version}}/"
    return {
        "sub": identity_url(org, org.user_id),
        "user_id": org.user_id,
        "organization_id": org.org_id,
        "preferred_username": org.username,
        "nickname": "demo",
        "name": USER_NAME,
        "email": org.username,
        "email_verified": True,
        "given_name": "Demo",
        "family_name": "User",
        "zoneinfo": "Europe/London",
        "photos": {"picture": None, "thumbnail": None},
        "profile": f"{org.base_url}/{org.user_id}",
        "picture": None,
        "address": {},
        "is_salesforce_integration_user": False,
        "urls": {
            "rest": rest,
            "sobjects": rest + "sobjects/",
            "search": rest + "search/",
            "query": rest + "query/",
            "recent": rest + "recent/",
            "profile": f"{org.base_url}/{org.user_id}",
            "custom_domain": org.base_url,
        },
        "active": not org.faults["user_inactive"],
        "user_type": "STANDARD",
        "language": "en_US",
        "locale": "en_GB",
        "utcOffset": 0,
        "updated_at": "2024-01-01T00:00:00Z",
        "is_app_installed": True,
    }


def revoke(org: Org, request: Request) -> Response:
    """``POST /services/oauth2/revoke`` (form ``token=``; GET ``?token=`` works too).

    A refresh token takes its access tokens with it. Unknown tokens get 400
    unsupported_token_type, as Salesforce documents for this endpoint.
    """
    _latency(org)
    value = request.form.get("token") or request.args.get("token", "")
    with org.lock:
        org.oauth_calls["revoke"] += 1
        if not org.tokens.revoke(value):
            return oauth_error("unsupported_token_type", "this token type is not supported")
    return Response(b"", status=200)

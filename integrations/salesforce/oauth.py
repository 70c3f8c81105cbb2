"""Salesforce OAuth 2.0 web server flow (PKCE S256), refresh and revoke, through authlib.

https://help.salesforce.com/s/articleView?id=xcloud.remoteaccess_oauth_web_server_flow_ca.htm

Everything here raises `SalesforceError` (integrations.salesforce.errors), never an
authlib or requests exception. Tokens are returned, never logged.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from urllib.parse import urlsplit

from authlib.integrations.requests_client import OAuth2Session
from django.conf import settings
from django.core.exceptions import ValidationError

from integrations.salesforce.errors import (
    VENDOR_EXCEPTIONS,
    Kind,
    SalesforceError,
    error_from_exception,
    error_from_oauth,
    error_from_response,
)
from integrations.salesforce.http import adapter_mount

PRODUCTION_HOST = "login.salesforce.com"
SANDBOX_HOST = "test.salesforce.com"
# My Domain login hosts: https://help.salesforce.com/s/articleView?id=sf.domain_name_formats.htm
MY_DOMAIN_SUFFIXES = (".my.salesforce.com", ".my.salesforce.mil", ".my.sfcrmproducts.cn")
SCOPE = "api refresh_token"
CALLBACK_PATH = "/salesforce/oauth/callback/"
_LABEL = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
_HOST_RE = re.compile(rf"^{_LABEL}(?:\.{_LABEL})+$")


def callback_url() -> str:
    """The redirect URI registered in the Connected App (fixed per deployment)."""
    return settings.SITE_URL + CALLBACK_PATH


def login_host_clean(value: str) -> str:
    """Normalise a login host typed by staff ("https://acme.my.salesforce.com/" ->
    "acme.my.salesforce.com"). Raises ValidationError unless it is a Salesforce login
    host reached over https, or listed in SALESFORCE_EXTRA_LOGIN_HOSTS."""
    raw = (value or "").strip().lower()
    if "://" in raw:
        parts = urlsplit(raw)
        if parts.scheme != "https":
            raise ValidationError("Salesforce is only reached over https://.")
        if parts.path.strip("/") or parts.query or parts.username:
            raise ValidationError("Enter only the host, e.g. acme.my.salesforce.com.")
        raw = parts.netloc
    raw = raw.rstrip("/")
    if raw in [h.lower() for h in settings.SALESFORCE_EXTRA_LOGIN_HOSTS]:
        return raw
    if not _HOST_RE.match(raw):
        raise ValidationError(f"{value!r} is not a host name.")
    if raw in (PRODUCTION_HOST, SANDBOX_HOST) or raw.endswith(MY_DOMAIN_SUFFIXES):
        return raw
    raise ValidationError(
        "Use login.salesforce.com, test.salesforce.com or your My Domain login host "
        "(…my.salesforce.com)."
    )


def _base(host: str) -> str:
    return f"https://{host}"


def _configured() -> tuple[str, str]:
    key, secret = settings.SALESFORCE_CONSUMER_KEY, settings.SALESFORCE_CONSUMER_SECRET
    if not key:
        raise SalesforceError(
            Kind.CONNECTION,
            "NOT_CONFIGURED",
            "This LeadSync deployment has no Salesforce Connected App: set "
            "SALESFORCE_CONSUMER_KEY and SALESFORCE_CONSUMER_SECRET.",
        )
    return key, secret


def _session(**kwargs) -> OAuth2Session:
    key, secret = _configured()
    session = OAuth2Session(
        client_id=key,
        client_secret=secret,
        # Credentials in the form body: Salesforce answers some clients that send them
        # as HTTP Basic auth with invalid_client.
        token_endpoint_auth_method="client_secret_post",  # noqa: S106 - a method name
        revocation_endpoint_auth_method="none",
        default_timeout=settings.SALESFORCE_TIMEOUT,
        **kwargs,
    )
    return adapter_mount(session)


@dataclass(frozen=True)
class AuthorizationStart:
    """Where to send the browser, and what to remember in the session until it returns."""

    url: str
    state: str
    code_verifier: str


@dataclass(frozen=True)
class TokenGrant:
    """A successful token response (access_token, instance_url, id, issued_at,
    signature; refresh_token on the code exchange). `refresh_token` is None when the
    response carried none (a refresh without rotation)."""

    access_token: str
    refresh_token: str | None
    instance_url: str
    org_id: str
    user_id: str
    scope: str

    def __repr__(self) -> str:  # never print tokens, even in a traceback's locals
        return f"TokenGrant(instance_url={self.instance_url!r}, org_id={self.org_id!r})"


def authorization_start(*, login_host: str) -> AuthorizationStart:
    """Build the authorize URL with a fresh state and a PKCE S256 challenge."""
    verifier = secrets.token_urlsafe(64)  # 86 chars, within RFC 7636's 43..128
    with _session(
        redirect_uri=callback_url(), code_challenge_method="S256", scope=SCOPE
    ) as session:
        url, state = session.create_authorization_url(
            _base(login_host) + "/services/oauth2/authorize",
            code_verifier=verifier,
            prompt="login consent",
        )
    return AuthorizationStart(url=url, state=state, code_verifier=verifier)


def authorization_complete(
    *, login_host: str, callback_full_url: str, state: str, code_verifier: str
) -> TokenGrant:
    """Exchange the code in `callback_full_url` for tokens; authlib checks `state`.

    Raises SalesforceError: code STATE_MISMATCH when the state differs (CSRF), or the
    token endpoint's error (invalid_request for a wrong PKCE verifier, ...).
    """
    with _session(redirect_uri=callback_url(), code_challenge_method="S256") as session:
        try:
            token = session.fetch_token(
                _base(login_host) + "/services/oauth2/token",
                authorization_response=callback_full_url,
                state=state,
                code_verifier=code_verifier,
            )
        except VENDOR_EXCEPTIONS as exc:
            raise _classified(exc) from None
    return _grant(token, token.get("refresh_token"))


def token_refresh(*, login_host: str, refresh_token: str) -> TokenGrant:
    """A refresh-token grant. With Refresh Token Rotation the response carries a new
    refresh token (and the old one is dead); otherwise `refresh_token` is None."""
    with _session() as session:
        try:
            token = session.refresh_token(
                _base(login_host) + "/services/oauth2/token", refresh_token=refresh_token
            )
        except VENDOR_EXCEPTIONS as exc:
            raise _classified(exc) from None
    rotated = token.get("refresh_token")
    return _grant(token, rotated if rotated and rotated != refresh_token else None)


def token_revoke(*, login_host: str, token: str) -> None:
    """Revoke a refresh token (and its access tokens) at Salesforce. An already revoked
    or unknown token is not an error: it is what we wanted.
    https://help.salesforce.com/s/articleView?id=xcloud.remoteaccess_revoke_token.htm"""
    with _session() as session:
        try:
            response = session.revoke_token(
                _base(login_host) + "/services/oauth2/revoke", token=token
            )
        except VENDOR_EXCEPTIONS as exc:
            raise _classified(exc) from None
    if response.status_code == 200:
        return
    try:
        body = response.json()
    except ValueError:
        body = response.text
    if isinstance(body, dict) and body.get("error") == "unsupported_token_type":
        return  # Salesforce's answer for a token it no longer knows
    if isinstance(body, dict) and "error" in body:
        raise error_from_oauth(
            body["error"], body.get("error_description"), http_status=response.status_code
        )
    raise error_from_response(response.status_code, body)


def _classified(exc: Exception) -> SalesforceError:
    if getattr(exc, "error", None) in ("mismatching_state", "missing_code"):
        return SalesforceError(
            Kind.CONNECTION, "STATE_MISMATCH", "The sign-in did not start from this page."
        )
    return error_from_exception(exc)


def _grant(token: dict, refresh_token: str | None) -> TokenGrant:
    identity = str(token.get("id", ""))  # https://login.../id/<org id>/<user id>
    parts = identity.rstrip("/").split("/")
    instance_url = str(token.get("instance_url", ""))
    if not token.get("access_token") or not instance_url.startswith("https://"):
        raise SalesforceError(
            Kind.TRANSIENT, "BAD_RESPONSE", "Salesforce's token response is incomplete."
        )
    return TokenGrant(
        access_token=token["access_token"],
        refresh_token=refresh_token or None,
        instance_url=instance_url.rstrip("/"),
        org_id=parts[-2] if len(parts) >= 2 else "",
        user_id=parts[-1] if parts else "",
        scope=str(token.get("scope", "")),
    )

"""Authorization codes, access tokens and refresh tokens of the emulated org.

Not thread-safe by itself: the Org's lock guards every call.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field

CODE_TTL_SECONDS = 15 * 60  # Salesforce authorization codes are valid for 15 minutes.


@dataclass
class AuthCode:
    client_id: str
    redirect_uri: str
    user_id: str
    scope: str
    code_challenge: str | None
    code_challenge_method: str | None
    expires_at: float
    used: bool = False


@dataclass
class RefreshToken:
    client_id: str
    user_id: str
    scope: str
    seeded: bool = False
    revoked: bool = False


@dataclass
class AccessToken:
    user_id: str
    scope: str
    expires_at: float
    refresh_token: str | None = None
    revoked: bool = False


@dataclass
class TokenStore:
    """All OAuth artefacts, with lookups that answer 'valid now?'."""

    org_id: str
    codes: dict[str, AuthCode] = field(default_factory=dict)
    refresh: dict[str, RefreshToken] = field(default_factory=dict)
    access: dict[str, AccessToken] = field(default_factory=dict)
    refreshing: set[str] = field(default_factory=set)

    def issue_code(self, code: AuthCode) -> str:
        value = "aPrx" + secrets.token_urlsafe(48)
        self.codes[value] = code
        return value

    def consume_code(self, value: str, now: float) -> AuthCode | None:
        """Return the code's grant and mark it used; None if unknown, used or expired."""
        grant = self.codes.get(value)
        if grant is None or grant.used or grant.expires_at <= now:
            return None
        grant.used = True
        return grant

    def issue_refresh(
        self, client_id: str, user_id: str, scope: str, value: str | None = None, seeded=False
    ) -> str:
        value = value or "5Aep861" + secrets.token_urlsafe(60)
        self.refresh[value] = RefreshToken(client_id, user_id, scope, seeded=seeded)
        return value

    def issue_access(
        self, user_id: str, scope: str, ttl: float, now: float, refresh_token: str | None
    ) -> str:
        # Real access tokens are "<15-char org id>!<opaque>" (reference §1).
        value = f"{self.org_id[:15]}!AQ{secrets.token_urlsafe(72)}"
        self.access[value] = AccessToken(user_id, scope, now + ttl, refresh_token)
        return value

    def valid_access(self, value: str, now: float) -> AccessToken | None:
        token = self.access.get(value)
        if token is None or token.revoked or token.expires_at <= now:
            return None
        return token

    def valid_refresh(self, value: str) -> RefreshToken | None:
        token = self.refresh.get(value)
        if token is None or token.revoked:
            return None
        return token

    def revoke_refresh(self, value: str) -> None:
        """Revoke a refresh token and every access token minted from it."""
        self.refresh[value].revoked = True
        for token in self.access.values():
            if token.refresh_token == value:
                token.revoked = True

    def revoke(self, value: str) -> bool:
        """Revoke a refresh or access token by value; False when the token is unknown."""
        if value in self.refresh and not self.refresh[value].revoked:
            self.revoke_refresh(value)
            return True
        if value in self.access and not self.access[value].revoked:
            self.access[value].revoked = True
            return True
        return False

    def revoke_all(self) -> None:
        for token in self.refresh.values():
            token.revoked = True
        for token in self.access.values():
            token.revoked = True

    def counts(self) -> dict[str, int]:
        return {
            "access_not_revoked": sum(not t.revoked for t in self.access.values()),
            "refresh_not_revoked": sum(not t.revoked for t in self.refresh.values()),
            "codes_unused": sum(not c.used for c in self.codes.values()),
        }

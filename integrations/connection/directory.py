"""Who and what the connected org has, for the admin's pickers: active users, queues that
own Leads, campaigns. Read in one composite request and kept in the cache for a few
minutes per connection, so a form renders without calling Salesforce each time.

    org_directory(connection, *, refresh=False) -> Directory
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from django.core.cache import cache

from integrations.connection import tokens
from integrations.models import SalesforceConnection
from integrations.salesforce.errors import SalesforceError

logger = logging.getLogger(__name__)
TTL_SECONDS = 600
QUERIES = {
    "users": "SELECT Id, Name, Email FROM User WHERE IsActive = true ORDER BY Name",
    "queues": "SELECT Id, Name FROM Group WHERE Type = 'Queue' ORDER BY Name",
    "campaigns": "SELECT Id, Name, Status FROM Campaign WHERE IsActive = true ORDER BY Name",
}


@dataclass
class Directory:
    users: list[dict] = field(default_factory=list)  # {"Id", "Name", "Email"}
    queues: list[dict] = field(default_factory=list)  # {"Id", "Name"}
    campaigns: list[dict] = field(default_factory=list)  # {"Id", "Name", "Status"}
    error: str = ""  # why it is empty, in words for staff

    def name_of(self, record_id: str) -> str:
        for row in (*self.users, *self.queues, *self.campaigns):
            if row.get("Id") == record_id:
                return str(row.get("Name") or record_id)
        return ""

    def user_for_email(self, email: str) -> dict | None:
        """The active user whose email is `email` (ignoring case): the suggestion."""
        wanted = email.strip().casefold()
        return next((u for u in self.users if str(u.get("Email") or "").casefold() == wanted), None)


def _key(connection: SalesforceConnection) -> str:
    return f"sf-directory:{connection.pk}:{connection.sf_org_id}"


def org_directory(
    connection: SalesforceConnection | None, *, refresh: bool = False, cached_only: bool = False
) -> Directory:
    """The org's users, queues and campaigns (cached for TTL_SECONDS). A connection that is
    missing or refuses answers an empty directory whose `error` says why. `cached_only`
    never calls Salesforce (a form rendering): then an uncached directory is empty."""
    if connection is None or not connection.is_connected:
        return Directory(error="Connect Salesforce first.")
    key = _key(connection)
    if not refresh:
        try:
            cached = cache.get(key)
        except Exception as exc:  # an unreachable cache only costs a Salesforce call
            logger.warning("Org directory cache unreadable: %s", exc)
            cached = None
        if cached is not None:
            return Directory(**cached)
        if cached_only:
            return Directory(error="The org's users are not loaded yet: press Refresh fields.")
    try:
        rows = tokens.client_for(connection).composite_queries(QUERIES)
    except SalesforceError as error:
        logger.warning("Org directory not read: tenant=%s %s", connection.tenant_id, error.code)
        return Directory(error=f"Salesforce did not list its users: {error.message or error.code}")
    keep = {
        "users": ("Id", "Name", "Email"),
        "queues": ("Id", "Name"),
        "campaigns": ("Id", "Name", "Status"),
    }
    found = {
        name: [{k: row.get(k) for k in fields} for row in rows.get(name, [])]
        for name, fields in keep.items()
    }
    try:
        cache.set(key, found, TTL_SECONDS)
    except Exception as exc:  # the directory still answers; the next form asks again
        logger.warning("Org directory not cached: %s", exc)
    return Directory(**found)

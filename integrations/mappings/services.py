"""Writes of the mapping concern: cached schemas, the mapping re-check, one-click fixes.

- `schema_get` / `schema_refresh`: the describe of one object for one connection, cached in
  SObjectSchema (fetched on a miss, refreshed on demand and daily).
- `target_check`: re-check a target's saved mappings against the cached describe and store
  what the schema now breaks (drift) on the target, before a booking fails on it.
- `question_make_required`: the one-click fix for a required field fed by an optional
  question.

Reads (form choices, preview, unused URL keys) are in integrations.mappings.selectors.
Salesforce failures arrive as SalesforceError and are raised to the caller.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field

from django.db import connection as db_connection
from django.db import transaction
from django.utils import timezone

from bookings.models import Question
from integrations.connection import services as connection_services
from integrations.connection import tokens
from integrations.mappings.records import target_mapping_specs
from integrations.mappings.selectors import problem_as_dict, schema_cached
from integrations.models import SalesforceConnection, SObjectSchema, SyncTarget
from integrations.salesforce import people
from integrations.salesforce.errors import Kind, SalesforceError
from integrations.salesforce.mapping import Problem
from integrations.salesforce.mapping_rules import mapping_drift
from integrations.salesforce.schema import IndexedDescribe, describe_indexed

logger = logging.getLogger(__name__)


def schema_get(*, connection: SalesforceConnection, sobject: str) -> dict:
    """The describe of `sobject` for `connection`: the cached one, else fetched and cached.

    Raises SalesforceError when it has to be fetched and Salesforce refuses (NOT_FOUND
    for an object the org does not have or the user cannot see).
    """
    return _schema_row(connection=connection, sobject=sobject).describe


def _schema_row(*, connection: SalesforceConnection, sobject: str) -> SObjectSchema:
    """The cached schema row of `sobject`, else fetched and stored (schema_get)."""
    cached = schema_cached(connection=connection, sobject=sobject)
    return cached if cached is not None else schema_store(connection=connection, sobject=sobject)


#: Describes this process has read, indexed, by (connection id, object): (row id,
#: fetched_at, describe). A describe is ~100 KB of JSON (reading and parsing one took
#: ~4 ms of CPU on the bench machine, a push reads one to three); its version, the row's
#: id and fetched_at (set by every store), is a read of two columns.
_KEPT: dict[tuple[int, str], tuple[int, dt.datetime, IndexedDescribe]] = {}
_KEPT_MAX = 512


def schema_get_indexed(*, connection: SalesforceConnection, sobject: str) -> IndexedDescribe:
    """`schema_get`, field index included, for the push: the describe kept in this
    process while the stored one has not changed (one small read to tell), so a push
    neither transfers nor parses it. The answer is shared: read it, never change it.

    Raises SalesforceError as schema_get."""
    key = (connection.pk, sobject)
    with db_connection.cursor() as cursor:
        cursor.execute(
            "SELECT id, fetched_at FROM integrations_sobjectschema"
            " WHERE connection_id = %s AND sobject = %s",
            [connection.pk, sobject],
        )
        version = cursor.fetchone()
    kept = _KEPT.get(key)
    if version is not None and kept is not None and kept[:2] == version:
        return kept[2]
    schema = _schema_row(connection=connection, sobject=sobject)
    if len(_KEPT) >= _KEPT_MAX:
        _KEPT.clear()
    described = describe_indexed(schema.describe)
    if schema.sobject == sobject:  # stored under another spelling: not kept (read again)
        _KEPT[key] = (schema.pk, schema.fetched_at, described)
    return described


def schema_store(*, connection: SalesforceConnection, sobject: str) -> SObjectSchema:
    """Describe `sobject` now and cache the answer; returns the row. Raises SalesforceError.

    A describe of "lead" answers for "Lead": the row is stored (and returned) under the
    object's exact API name.
    """
    describe = tokens.client_for(connection).describe(sobject)
    name = describe.get("name") or sobject
    schema, _ = SObjectSchema.objects.update_or_create(
        connection=connection,
        sobject=name,
        defaults={"describe": describe, "fetched_at": timezone.now()},
    )
    return schema


def schema_refresh(*, connection: SalesforceConnection, sobject: str) -> SObjectSchema:
    """Fetch the describe again ("Refresh fields", the daily task), cache it, and re-check
    every target of the connection's tenant on that object (`target_check`).

    Raises SalesforceError; a connection-kind error is also recorded on the connection.
    """
    try:
        schema = schema_store(connection=connection, sobject=sobject)
    except SalesforceError as error:
        if error.kind is Kind.CONNECTION:
            connection_services.connection_record_failure(connection=connection, error=error)
        raise
    targets = SyncTarget.objects.filter(
        page__tenant_id=connection.tenant_id, sobject=schema.sobject
    ).select_related("page")
    for target in targets:
        target_check(target=target, describe=schema.describe)
    return schema


def schema_recheck(
    *, connection: SalesforceConnection, sobject: str, min_age: dt.timedelta
) -> SObjectSchema | None:
    """A delivery failed on a field of `sobject`: re-read its fields and re-check every
    target using it (`schema_refresh`), unless they were read less than `min_age` ago.
    Returns the fresh schema, or None when skipped (recent, or not connected).
    Raises SalesforceError."""
    if not connection.is_connected:
        return None
    cached = schema_cached(connection=connection, sobject=sobject)
    if cached is not None and cached.fetched_at > timezone.now() - min_age:
        return None
    return schema_refresh(connection=connection, sobject=sobject)


@dataclass
class RefreshReport:
    refreshed: list[tuple[int, str]] = field(default_factory=list)
    failed: list[tuple[int, str, str]] = field(default_factory=list)  # (connection, object, code)


def schemas_to_refresh() -> list[tuple[SalesforceConnection, str]]:
    """(connection, object) pairs worth re-describing: every cached schema and every
    target's object, of connected connections."""
    connections = {
        c.pk: c
        for c in SalesforceConnection.objects.filter(status=SalesforceConnection.Status.CONNECTED)
    }
    by_tenant = {c.tenant_id: c for c in connections.values()}
    pairs = {
        (connection_id, sobject)
        for connection_id, sobject in SObjectSchema.objects.filter(
            connection_id__in=connections
        ).values_list("connection_id", "sobject")
    }
    for tenant_id, sobject in SyncTarget.objects.filter(page__tenant_id__in=by_tenant).values_list(
        "page__tenant_id", "sobject"
    ):
        pairs.add((by_tenant[tenant_id].pk, sobject))
    return [(connections[pk], sobject) for pk, sobject in sorted(pairs)]


def schemas_refresh_all() -> RefreshReport:
    """The daily refresh: `schema_refresh` for every pair of `schemas_to_refresh`.

    One failing object does not stop the others; after a connection-kind error the rest of
    that org's objects are skipped (it refuses us until staff reconnect). Failures are
    logged and returned.
    """
    report = RefreshReport()
    refused: dict[int, str] = {}  # connection id -> error code
    for connection, sobject in schemas_to_refresh():
        if connection.pk in refused:
            report.failed.append((connection.pk, sobject, refused[connection.pk]))
            continue
        try:
            schema_refresh(connection=connection, sobject=sobject)
        except SalesforceError as error:
            logger.warning(
                "Schema refresh failed: tenant=%s object=%s %s",
                connection.tenant_id,
                sobject,
                error.code,
            )
            report.failed.append((connection.pk, sobject, error.code))
            if error.kind is Kind.CONNECTION:
                refused[connection.pk] = error.code
        else:
            report.refreshed.append((connection.pk, sobject))
    return report


def target_check(*, target: SyncTarget, describe: dict | None = None) -> list[Problem]:
    """Re-check the target's saved mappings against the schema; store and return the
    errors the schema causes (deleted or read-only fields, restricted picklist values gone,
    fields that became required, lengths a question now exceeds). Warnings are not stored:
    the save already showed them, and they do not make a booking fail.

    `describe` defaults to the cached one (fetched on a miss). Without a connection there
    is nothing to check against: returns [] and stores nothing.
    """
    if describe is None:
        connection = SalesforceConnection.objects.filter(tenant_id=target.page.tenant_id).first()
        if connection is None:
            return []
        describe = schema_get(connection=connection, sobject=target.sobject)
    problems = [
        problem
        for problem in mapping_drift(
            describe, target_mapping_specs(target), write_mode=target.core_write_mode
        )
        if problem.is_error
    ]
    target.problems = [problem_as_dict(p) for p in problems]
    target.checked_at = timezone.now()
    SyncTarget.objects.filter(pk=target.pk).update(
        problems=target.problems, checked_at=target.checked_at
    )
    return problems


@transaction.atomic
def question_make_required(*, question: Question) -> Question:
    """A required Salesforce field is fed by `question`: guests must answer it from now on."""
    if not question.required:
        question.required = True
        question.save(update_fields=["required"])
    return question


def targets_recheck(*, targets: Iterable[SyncTarget]) -> None:
    """`target_check` for each target that has a cached describe (no Salesforce call)."""
    for target in targets:
        connection = SalesforceConnection.objects.filter(tenant_id=target.page.tenant_id).first()
        cached = connection and schema_cached(connection=connection, sobject=target.sobject)
        if cached:
            target_check(target=target, describe=cached.describe)


def guest_lookup(*, target: SyncTarget, email: str) -> str:
    """Whether a guest with `email` would be found now, in words (one composite query to
    Salesforce). Raises SalesforceError."""
    connection = SalesforceConnection.objects.filter(tenant_id=target.page.tenant_id).first()
    if connection is None:
        return "Salesforce is not connected."
    policy = people.MatchPolicy(target.person_match)
    if policy is people.MatchPolicy.ALWAYS_CREATE:
        return people.match_choose(email, [], policy).reason
    describes = {}
    for sobject in (people.LEAD, people.CONTACT):
        cached = schema_cached(connection=connection, sobject=sobject)
        describes[sobject] = cached.describe if cached else None
    queries = people.find_queries(
        [email], contacts=policy is people.MatchPolicy.CONTACT_THEN_LEAD, describes=describes
    )
    rows = tokens.client_for(connection).composite_queries(queries)
    candidates = [
        *people.candidates_from_rows(people.CONTACT, rows.get("contacts", [])),
        *people.candidates_from_rows(people.LEAD, rows.get("leads", [])),
    ]
    return people.match_choose(email, candidates, policy).reason

"""Reads of the failed-posts dashboard and the alert emails. Every query is scoped to a
user's tenants (or to one tenant, for emails) and loads its relations up front: a page of
many rows costs a fixed number of queries.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Count, Max, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import TruncDate
from django.utils import timezone

from bookings.models import Question
from bookings.tenancy import scope_to_user
from integrations.connection.selectors import connections_needing_reconnect
from integrations.models import (
    Delivery,
    DeliveryAttempt,
    FieldMapping,
    SalesforceConnection,
    SyncTarget,
)
from integrations.salesforce.diagnostics import diagnose
from integrations.salesforce.errors import is_field_error
from integrations.salesforce.explanations import Explanation, FieldSource, explain

Status = Delivery.Status
CHART_DAYS = 30
MAX_CAUSES = 100
BAR_WIDTH = 20


def deliveries_for(user) -> QuerySet:
    """Deliveries of `user`'s tenants with booking, page, tenant, target and connection
    joined, and `last_attempt_at` annotated (one subquery, no extra round trips)."""
    last_attempt = DeliveryAttempt.objects.filter(delivery=OuterRef("pk")).order_by("-started_at")
    queryset = Delivery.objects.select_related(
        "booking__page__tenant", "target", "connection", "change", "post"
    ).annotate(last_attempt_at=Subquery(last_attempt.values("started_at")[:1]))
    return scope_to_user(queryset, user)


def attempts_for(user) -> QuerySet:
    """Attempts of `user`'s tenants, with their delivery's booking, page and tenant."""
    queryset = DeliveryAttempt.objects.select_related("delivery__booking__page__tenant")
    return scope_to_user(queryset, user)


# -- field sources: "the question behind the field" -------------------------------------------


def field_sources(target_ids: set[int]) -> dict[int, dict[str, FieldSource]]:
    """For each target, what feeds each of its Salesforce fields. Two queries in all."""
    mappings = list(FieldMapping.objects.filter(target_id__in=target_ids).select_related("target"))
    page_ids = {m.target.page_id for m in mappings}
    questions = {
        (q.page_id, q.key): q
        for q in Question.objects.filter(page_id__in=page_ids).only(
            "page_id", "key", "label", "required"
        )
    }
    sources: dict[int, dict[str, FieldSource]] = {t: {} for t in target_ids}
    for mapping in mappings:
        question = questions.get((mapping.target.page_id, mapping.source_key))
        sources[mapping.target_id][mapping.sf_field] = _source(mapping, question)
    return sources


def _source(mapping: FieldMapping, question: Question | None) -> FieldSource:
    kind = mapping.source_kind
    if kind == FieldMapping.SourceKind.QUESTION:
        label = question.label if question else mapping.source_key
        return FieldSource(kind, label, required=bool(question and question.required))
    if kind == FieldMapping.SourceKind.CONSTANT:
        return FieldSource(kind, mapping.constant_value)
    if kind == FieldMapping.SourceKind.URL_PARAM:
        return FieldSource(kind, mapping.sf_field)  # rule 7: the key is the field's name
    return FieldSource(kind, mapping.source_key)


# -- causes ---------------------------------------------------------------------------------------


@dataclass
class Cause:
    """Failed deliveries of one page and target sharing an error code and fields."""

    tenant_id: int
    tenant_name: str
    page_id: int
    page_title: str
    target_id: int | None
    sobject: str
    code: str
    fields: list[str]
    count: int
    message: str
    latest: dt.datetime | None
    explanation: Explanation
    #: A field's definition in Salesforce no longer fits the mapping: a field-related error
    #: on a field the target's last schema check (re-run by itself after such a failure)
    #: found broken.
    salesforce_changed: bool = False


def failure_causes(deliveries: QuerySet, *, limit: int = MAX_CAUSES) -> list[Cause]:
    """Group failed `deliveries` by tenant, page, target, error code and fields, largest
    group first, each with its explanation (naming the question behind the field)."""
    rows = list(
        deliveries.filter(status=Status.FAILED)
        .values(
            "booking__page__tenant_id",
            "booking__page__tenant__name",
            "booking__page_id",
            "booking__page__title",
            "target_id",
            "sobject",
            "last_error_code",
            "last_error_fields",
        )
        .annotate(count=Count("pk"), message=Max("last_error_message"), latest=Max("updated_at"))
        .order_by("-count", "booking__page__tenant__name", "booking__page__title")[:limit]
    )
    target_ids = {r["target_id"] for r in rows if r["target_id"]}
    sources = field_sources(target_ids)
    broken = {
        pk: {p.get("field") for p in problems or [] if isinstance(p, dict)}
        for pk, problems in SyncTarget.objects.filter(pk__in=target_ids).values_list(
            "pk", "problems"
        )
    }
    causes = [_cause(row, sources.get(row["target_id"], {})) for row in rows]
    for cause in causes:
        fields = broken.get(cause.target_id, set())
        cause.salesforce_changed = is_field_error(cause.code) and bool(
            fields & set(cause.fields) if cause.fields else fields
        )
    return causes


def _cause(row: dict[str, Any], sources: dict[str, FieldSource]) -> Cause:
    fields = list(row["last_error_fields"] or [])
    return Cause(
        tenant_id=row["booking__page__tenant_id"],
        tenant_name=row["booking__page__tenant__name"],
        page_id=row["booking__page_id"],
        page_title=row["booking__page__title"],
        target_id=row["target_id"],
        sobject=row["sobject"],
        code=row["last_error_code"],
        fields=fields,
        count=row["count"],
        message=row["message"] or "",
        latest=row["latest"],
        explanation=explain(
            row["last_error_code"], row["message"] or "", fields=fields, sources=sources
        ),
    )


def attempt_causes(attempts: QuerySet) -> list[dict[str, Any]]:
    """Failed `attempts` counted by error code and fields (for alert emails), each with
    its explanation; largest first."""
    rows = list(
        attempts.values("error_code", "fields", "delivery__target_id")
        .annotate(count=Count("pk"), message=Max("message"))
        .order_by("-count")
    )
    sources = field_sources({r["delivery__target_id"] for r in rows if r["delivery__target_id"]})
    merged: dict[tuple[str, tuple[str, ...]], dict[str, Any]] = {}
    for row in rows:
        fields = tuple(row["fields"] or ())
        key = (row["error_code"], fields)
        if key not in merged:
            merged[key] = {
                "code": row["error_code"] or "UNKNOWN",
                "fields": list(fields),
                "count": 0,
                "explanation": explain(
                    row["error_code"],
                    row["message"] or "",
                    fields=fields,
                    sources=sources.get(row["delivery__target_id"], {}),
                ),
            }
        merged[key]["count"] += row["count"]
    return sorted(merged.values(), key=lambda c: -c["count"])


# -- the chart ------------------------------------------------------------------------------


@dataclass
class Day:
    """One bar of the chart: 100 units high at the busiest day, 20 wide per day."""

    index: int
    date: dt.date
    count: int
    percent: int  # of the busiest day

    deliveries: int = 0  # distinct deliveries among them

    @property
    def height(self) -> int:
        return max(self.percent, 1)

    @property
    def x(self) -> int:
        return self.index * BAR_WIDTH

    @property
    def y(self) -> int:
        return 100 - self.height


def failures_per_day(attempts: QuerySet, *, now: dt.datetime, days: int = CHART_DAYS) -> list[Day]:
    """Failed attempts per day (UTC) for the last `days` days, oldest first, zeros included."""
    today = now.astimezone(dt.UTC).date()
    first = today - dt.timedelta(days=days - 1)
    since = dt.datetime.combine(first, dt.time(), tzinfo=dt.UTC)
    rows = (
        attempts.filter(outcome=DeliveryAttempt.Outcome.FAILED, started_at__gte=since)
        .annotate(day=TruncDate("started_at", tzinfo=dt.UTC))
        .values("day")
        .annotate(count=Count("pk"), deliveries=Count("delivery", distinct=True))
        .values_list("day", "count", "deliveries")
    )
    counts = {day: (count, deliveries) for day, count, deliveries in rows}
    peak = max((c for c, _ in counts.values()), default=0) or 1
    series = [first + dt.timedelta(days=i) for i in range(days)]
    return [Day(i, d, *_day_counts(counts.get(d, (0, 0)), peak)) for i, d in enumerate(series)]


def _day_counts(counts: tuple[int, int], peak: int) -> tuple[int, int, int]:
    count, deliveries = counts
    return count, round(100 * count / peak), deliveries


# -- the summary page -------------------------------------------------------------------------


@dataclass
class Summary:
    counts: dict[str, int]
    causes: list[Cause]
    days: list[Day]
    reconnect: list[dict[str, Any]] = field(default_factory=list)
    unowned: int = 0  # sent records the integration user owns
    deliveries_charted: int = 0  # distinct deliveries behind the chart's failed attempts

    @property
    def chart_width(self) -> int:
        return len(self.days) * BAR_WIDTH

    @property
    def total_failures_charted(self) -> int:
        """Failed attempts in the chart (a delivery retried or resent fails more than once)."""
        return sum(d.count for d in self.days)

    @property
    def chart_peak(self) -> int:
        return max((d.count for d in self.days), default=0)

    @property
    def changed_causes(self) -> list[Cause]:
        """Failures because a field changed in Salesforce ("Salesforce changed")."""
        return [c for c in self.causes if c.salesforce_changed]

    @property
    def other_causes(self) -> list[Cause]:
        return [c for c in self.causes if not c.salesforce_changed]


def dashboard_summary(user, *, tenant_id: int | None = None, now=None) -> Summary:
    """Everything the "Failed posts" page shows, for `user`'s tenants (optionally one)."""
    now = now or timezone.now()
    deliveries, attempts = deliveries_for(user), attempts_for(user)
    connections = connections_needing_reconnect(user)
    if tenant_id is not None:
        deliveries = deliveries.filter(booking__page__tenant_id=tenant_id)
        attempts = attempts.filter(delivery__booking__page__tenant_id=tenant_id)
        connections = connections.filter(tenant_id=tenant_id)
    counts = deliveries.aggregate(
        **{
            s: Count("pk", filter=Q(status=s))
            for s in (Status.FAILED, Status.RETRYING, Status.HELD)
        },
        # Sent, but owned by the integration user: nobody follows these records up.
        unowned=Count("pk", filter=Q(status=Status.SENT, steps__owner__is_integration_user=True)),
    )
    unowned = counts.pop("unowned")
    attempted = (
        attempts.filter(
            outcome=DeliveryAttempt.Outcome.FAILED,
            started_at__gte=now - dt.timedelta(days=CHART_DAYS),
        )
        .values("delivery")
        .distinct()
        .count()
    )
    return Summary(
        counts=counts,
        causes=failure_causes(deliveries),
        days=failures_per_day(attempts, now=now),
        reconnect=[connection_problem(c) for c in connections],
        unowned=unowned,
        deliveries_charted=attempted,
    )


def connection_problem(connection: SalesforceConnection) -> dict[str, Any]:
    return {
        "connection": connection,
        "diagnosis": diagnose(
            connection.last_error_code,
            connection.last_error_message,
            connected_at=connection.connected_at,
        ),
    }

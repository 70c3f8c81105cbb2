"""Reads for resending and bulk jobs: what a resend leaves alone and why, filters and
jobs in words."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Count, Q, QuerySet
from django.http import QueryDict
from django.utils.translation import ngettext

from bookings.models import BookingPage
from bookings.tenancy import scope_to_user, tenants_for
from integrations.delivery.selectors import RESENDABLE
from integrations.models import (
    Delivery,
    SyncTarget,
)

Status = Delivery.Status


# -- resend: what is left alone, and why ----------------------------------------------------


def resend_skipped(deliveries: QuerySet, *, include_sent: bool = False) -> dict[str, int]:
    """How many of `deliveries` a resend leaves alone, by status (read before resending)."""
    resendable = Q(status__in=RESENDABLE)
    if include_sent:  # as deliveries_resend: only an upsert brings a sent record up to date
        resendable |= Q(status=Status.SENT, target__write_mode=SyncTarget.WriteMode.UPSERT)
    rows = (
        Delivery.objects.filter(pk__in=deliveries.values("pk"))
        .exclude(resendable)
        .values("status")
        .annotate(count=Count("pk"))
        .values_list("status", "count")
    )
    return dict(rows)


def resend_skipped_reasons(skipped: dict[str, int], *, rebuilt: bool) -> list[str]:
    """One sentence per status left alone: what happened, why, and what to do instead."""
    reasons = []
    for status, count in sorted(skipped.items()):
        n = {"count": count}
        if status == Status.SENT and not rebuilt:
            reasons.append(
                ngettext(
                    "%(count)d delivery was not resent: it already reached Salesforce. To "
                    "send it again with the current mapping, use “Resend with current "
                    "mapping”.",
                    "%(count)d deliveries were not resent: they already reached Salesforce. "
                    "To send them again with the current mapping, use “Resend with current "
                    "mapping”.",
                    count,
                )
                % n
            )
        elif status in (Status.PENDING, Status.SENDING):
            reasons.append(
                ngettext(
                    "%(count)d delivery was not resent: it is being sent right now.",
                    "%(count)d deliveries were not resent: they are being sent right now.",
                    count,
                )
                % n
            )
        elif status == Status.SUPERSEDED:
            reasons.append(
                ngettext(
                    "%(count)d write-back was not resent: a later change of its booking "
                    "replaced it, and that one is written back instead.",
                    "%(count)d write-backs were not resent: a later change of their booking "
                    "replaced them, and those are written back instead.",
                    count,
                )
                % n
            )
        else:
            reasons.append(
                ngettext(
                    "%(count)d delivery was not resent: it was created once and is not "
                    "updated (the target creates records instead of upserting them).",
                    "%(count)d deliveries were not resent: they were created once and are "
                    "not updated (the target creates records instead of upserting them).",
                    count,
                )
                % n
            )
    return reasons


# -- filters and jobs in words ------------------------------------------------------------------

FILTER_LABELS = {
    "status__exact": "Status",
    "code": "Salesforce error",
    "tenant": "Tenant",
    "page": "Booking page",
    "q": "Search",
    "created_at__gte": "Created from",
    "created_at__lt": "Created before",
}
NOT_FILTERS = {"o", "p", "_changelist_filters", "e"}


def filter_description(user, query: str) -> list[tuple[str, str]]:
    """The deliveries list's filter (its query string) as (what, value) pairs in words,
    e.g. ("Status", "Failed") for status__exact=failed; other tenants' names never."""
    described = []
    for name, value in QueryDict(query).items():
        if name in NOT_FILTERS or not value:
            continue
        label = FILTER_LABELS.get(name, name.replace("__", " ").replace("_", " ").capitalize())
        described.append((label, _filter_value(user, name, value)))
    return described


def _filter_value(user, name: str, value: str) -> str:
    if name == "status__exact":
        return dict(Status.choices).get(value, value)
    if name == "tenant" and value.isdigit():
        tenant = tenants_for(user).filter(pk=int(value)).first()
        return tenant.name if tenant else value
    if name == "page" and value.isdigit():
        page = scope_to_user(BookingPage.objects.all(), user).filter(pk=int(value)).first()
        return page.title if page else value
    if name.startswith("created_at"):
        return value[:10]
    return value


@dataclass
class JobOutcome:
    """Where a resend job's deliveries are now."""

    sent: int = 0
    failed: int = 0
    on_the_way: int = 0  # pending, sending, retrying
    other: int = 0  # held, dismissed


def job_outcome(job) -> JobOutcome:
    """How many of the job's deliveries reached Salesforce since, failed again, or are
    still on their way (one query)."""
    counts = dict(
        Delivery.objects.filter(pk__in=job.delivery_ids)
        .values("status")
        .annotate(count=Count("pk"))
        .values_list("status", "count")
    )
    return JobOutcome(
        sent=counts.get(Status.SENT, 0),
        failed=counts.get(Status.FAILED, 0),
        on_the_way=sum(counts.get(s, 0) for s in (Status.PENDING, Status.SENDING, Status.RETRYING)),
        other=sum(counts.get(s, 0) for s in (Status.HELD, Status.DISMISSED)),
    )

"""Reads of the delivery concern (no Salesforce I/O).

DUE_STATUSES, RESENDABLE                   which statuses a push / staff may act on
deliveries_due(*, connection_id, now=None) -> QuerySet
delivery_record_url(delivery) -> str       "Open in Salesforce" ({instance_url}/{id})
"""

from __future__ import annotations

from datetime import datetime

from django.db.models import QuerySet
from django.utils import timezone

from integrations.models import Delivery

Status = Delivery.Status

#: What a push sends when `next_attempt_at` has come.
DUE_STATUSES = (Status.PENDING, Status.RETRYING)
#: What staff may queue again: everything that is neither on its way nor done.
RESENDABLE = (Status.FAILED, Status.HELD, Status.RETRYING, Status.DISMISSED)


def deliveries_due(*, connection_id: int, now: datetime | None = None) -> QuerySet[Delivery]:
    """Deliveries of one connection that a push should send now."""
    return Delivery.objects.filter(
        connection_id=connection_id,
        status__in=DUE_STATUSES,
        next_attempt_at__lte=now or timezone.now(),
    )


def delivery_record_url(delivery: Delivery) -> str:
    """The record in Salesforce ("Open in Salesforce"), '' before it exists."""
    instance = (delivery.connection.instance_url or "").rstrip("/")
    if not (instance and delivery.sf_record_id):
        return ""
    return f"{instance}/{delivery.sf_record_id}"

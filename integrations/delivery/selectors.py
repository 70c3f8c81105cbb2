"""Reads of the delivery concern (no Salesforce I/O).

DUE_STATUSES, RESENDABLE                   which statuses a push / staff may act on
booking_targets(*, page_id)                a booking's targets and its org's connection
deliveries_due(*, connection_id, now=None) -> QuerySet
deliveries_ready() -> Q                    posts, and write-backs whose turn has come
delivery_record_url(delivery) -> str       "Open in Salesforce" ({instance_url}/{id})
"""

from __future__ import annotations

from datetime import datetime

from django.db import connection
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import timezone

from integrations.models import Delivery

Status = Delivery.Status

#: What a push sends when `next_attempt_at` has come.
DUE_STATUSES = (Status.PENDING, Status.RETRYING)
#: What staff may queue again: everything that is neither on its way nor done.
RESENDABLE = (Status.FAILED, Status.HELD, Status.RETRYING, Status.DISMISSED)
#: Write-backs held because their post failed or was dismissed (no record to change).
WAITING_FOR_POST = "WAITING_FOR_POST"
WAITING_FOR_POST_MESSAGE = (
    "Held: the booking's post to Salesforce did not go through, so there is no record to "
    "change yet. It is sent by itself once the post is resent and sent."
)
#: A write-back in one of these keeps the later write-backs of its post waiting.
OPEN_STATUSES = (Status.PENDING, Status.SENDING, Status.RETRYING, Status.HELD)


#: (target_id, sobject, connection_id, status) of each enabled target of page %s; the
#: connection is the page's tenant's (NULL, NULL without one). Written out: it runs in
#: every booking's transaction, and the ORM took about 1 ms of CPU to build it, over
#: three times its round trip. (services.deliveries_create_for_booking inserts from it.)
BOOKING_TARGETS = (
    "SELECT t.id AS target_id, t.sobject, c.id AS connection_id, c.status"
    " FROM integrations_synctarget t JOIN bookings_bookingpage p ON p.id = t.page_id"
    " LEFT JOIN integrations_salesforceconnection c ON c.tenant_id = p.tenant_id"
    " WHERE t.page_id = %s AND t.enabled"
)


def booking_targets(*, page_id: int) -> list[tuple[int, str, int | None, str | None]]:
    """(target id, sObject, connection id, connection status) of each enabled target of
    page `page_id`, by id (BOOKING_TARGETS)."""
    with connection.cursor() as cursor:
        cursor.execute(BOOKING_TARGETS + " ORDER BY t.id", [page_id])
        return cursor.fetchall()


def deliveries_ready() -> Q:
    """Posts; and write-backs whose post is sent and whose earlier write-backs (by the
    order of their changes) are done: a change is never sent before the record it
    changes exists, nor before the change that came before it."""
    earlier_open = Delivery.objects.filter(
        kind=Delivery.Kind.WRITE_BACK,
        post_id=OuterRef("post_id"),
        change_id__lt=OuterRef("change_id"),
        status__in=OPEN_STATUSES,
    )
    return Q(kind=Delivery.Kind.POST) | (Q(post__status=Status.SENT) & ~Exists(earlier_open))


def deliveries_due(*, connection_id: int, now: datetime | None = None) -> QuerySet[Delivery]:
    """Deliveries of one connection that a push should send now."""
    return Delivery.objects.filter(
        deliveries_ready(),
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

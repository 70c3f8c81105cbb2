"""Write-backs: a booking's later changes (rescheduled, cancelled, no-show, completed)
applied to the records its post wrote. Write services; the push sends them with the
posts (integrations.delivery.push), built by integrations.delivery.write_back_build.

    write_backs_create_for_change(*, change: BookingChange) -> list[Delivery]
        The outbox: one write-back per post delivery of the booking (in the change's
        transaction); earlier unsent write-backs it makes pointless are superseded.

When a post fails (or is dismissed) its unsent write-backs are held (WAITING_FOR_POST);
when it is sent they are due (outcomes.write_backs_hold_for_posts / _release_for_posts).

Order (selectors.deliveries_due): a write-back is due only once its post is sent and
no earlier write-back of the same post is still open (pending, sending, retrying, held).
"""

from __future__ import annotations

import logging

from django.db import transaction
from django.utils import timezone

from bookings.models import BookingChange
from integrations.delivery import services
from integrations.delivery.selectors import WAITING_FOR_POST, WAITING_FOR_POST_MESSAGE
from integrations.models import Delivery

logger = logging.getLogger(__name__)
Status = Delivery.Status
ChangeKind = BookingChange.Kind

SUPERSEDED = "SUPERSEDED"

#: Not sent yet, and not on its way: what a later change may supersede.
UNSENT = (Status.PENDING, Status.RETRYING, Status.HELD, Status.FAILED)
#: What a write-back of `kind` makes pointless when it is still unsent: a later time
#: replaces an earlier one; a cancel replaces a move; an outcome replaces an outcome.
SUPERSEDES: dict[str, tuple[str, ...]] = {
    ChangeKind.RESCHEDULED: (ChangeKind.RESCHEDULED,),
    ChangeKind.CANCELLED: (ChangeKind.RESCHEDULED,),
    ChangeKind.NO_SHOW: (ChangeKind.NO_SHOW, ChangeKind.COMPLETED),
    ChangeKind.COMPLETED: (ChangeKind.NO_SHOW, ChangeKind.COMPLETED),
}


@transaction.atomic
def write_backs_create_for_change(*, change: BookingChange) -> list[Delivery]:
    """One write-back of `change` per post delivery of its booking (a target removed
    since is skipped), created in the change's own transaction; a push is enqueued on
    commit. A post that failed or was dismissed holds its write-back (WAITING_FOR_POST);
    a post held for the connection holds it the same way. Returns the write-backs."""
    if change.kind not in SUPERSEDES:
        return []  # "booked" is the post itself
    posts = list(
        Delivery.objects.select_for_update()
        .filter(booking_id=change.booking_id, kind=Delivery.Kind.POST, target__isnull=False)
        .select_related("connection")
        .order_by("pk")
    )
    if not posts:
        return []
    now = timezone.now()
    created = []
    for post in posts:
        write_back = Delivery(
            booking_id=change.booking_id,
            target_id=post.target_id,
            connection=post.connection,
            sobject=post.sobject,
            kind=Delivery.Kind.WRITE_BACK,
            change=change,
            post=post,
            status=Status.PENDING,
            next_attempt_at=now,
        )
        if post.status in (Status.FAILED, Status.DISMISSED):
            write_back.status = Status.HELD
            write_back.last_error_code = WAITING_FOR_POST
            write_back.last_error_message = WAITING_FOR_POST_MESSAGE
        elif not post.connection.is_connected:
            write_back.status = Status.HELD
            write_back.last_error_code = services.NOT_CONNECTED
            write_back.last_error_message = services.not_connected_message(post.connection)
        created.append(write_back)
    Delivery.objects.bulk_create(created)
    _supersede(change, [post.pk for post in posts], now)
    services.push_enqueue_on_commit(
        sorted({w.connection_id for w in created if w.status == Status.PENDING})
    )
    return created


def _supersede(change: BookingChange, post_ids: list[int], now) -> int:
    """Earlier unsent write-backs of the same posts that `change` makes pointless become
    `superseded`, naming the change that did it."""
    earlier = Delivery.objects.filter(
        kind=Delivery.Kind.WRITE_BACK,
        post_id__in=post_ids,
        change__pk__lt=change.pk,
        change__kind__in=SUPERSEDES[change.kind],
        status__in=UNSENT,
    )
    count = earlier.update(
        status=Status.SUPERSEDED,
        next_attempt_at=None,
        claim_token=None,
        last_error_code=SUPERSEDED,
        last_error_message=(
            f"Superseded by a later change ({change.get_kind_display().lower()} at "
            f"{change.created_at:%Y-%m-%d %H:%M} UTC): only that one is sent."
        ),
        last_error_fields=[],
        updated_at=now,
    )
    if count:
        logger.info("Write-backs superseded: booking=%s by change=%s", change.booking_id, change.pk)
    return count

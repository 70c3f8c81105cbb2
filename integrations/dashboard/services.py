"""Writes of the failed-posts dashboard: dismiss, bulk resend jobs, retention.

Resending goes through the delivery pipeline's own service
(integrations.delivery.services.deliveries_resend: back to pending, enqueued on commit,
idempotent by upsert), so a delivery that had in fact reached Salesforce is updated, never
duplicated. Nothing here talks to Salesforce; jobs are enqueued by task name.
"""

from __future__ import annotations

import datetime as dt
import logging

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from bookings.models import Booking, BookingPage
from bookings.selectors import page_free_slots
from bookings.services import Guest, booking_submit
from integrations.dashboard.onboarding import TEST_GUEST_EMAIL, TEST_GUEST_NAME
from integrations.delivery.outcomes import write_backs_hold_for_posts
from integrations.delivery.selectors import RESENDABLE
from integrations.delivery.services import deliveries_resend
from integrations.mappings.selectors import sample_answers
from integrations.models import Delivery, DeliveryAttempt, ResendJob
from leadsync import enqueue

logger = logging.getLogger(__name__)
Status = Delivery.Status
RESEND_JOB_STALL = dt.timedelta(minutes=5)
RESEND_JOB_TASK = "integrations.resend_job_run"  # integrations.dashboard.tasks.resend_job_run

#: What staff may dismiss: what is neither on its way, done, nor dismissed already.
DISMISSABLE = (Status.FAILED, Status.HELD, Status.RETRYING)


@transaction.atomic
def deliveries_dismiss(
    *, deliveries: QuerySet, user: AbstractBaseUser | None, reason: str, now=None
) -> int:
    """Mark failed / held / retrying deliveries dismissed, keeping who, when and why (the
    rows and their attempts stay for audit). Returns how many were dismissed.

    One conditional UPDATE: a delivery a worker claimed meanwhile (sending) is left alone.
    """
    reason = reason.strip()
    if not reason:
        raise ValueError("A reason is required to dismiss deliveries.")
    now = now or timezone.now()
    queryset = Delivery.objects.filter(pk__in=deliveries.values("pk"), status__in=DISMISSABLE)
    posts = list(queryset.filter(kind=Delivery.Kind.POST).values_list("pk", flat=True))
    # Their write-backs cannot go out before the post does: held, saying so.
    write_backs_hold_for_posts(post_ids=posts)
    return queryset.update(
        status=Status.DISMISSED,
        next_attempt_at=None,
        dismissed_at=now,
        dismissed_by=user,
        dismissed_reason=reason[:2000],
        updated_at=now,
    )


# -- "Resend all matching": jobs --------------------------------------------------------------


def resend_jobs_create(
    *,
    deliveries: QuerySet,
    user: AbstractBaseUser,
    rebuild: bool = False,
    description: str = "",
) -> list[ResendJob]:
    """Snapshot the resendable deliveries matching a filter into jobs (one per tenant for
    staff; one across tenants for a superuser) and enqueue them on commit.

    Returns the jobs created (none when nothing matches).
    """
    rows = deliveries.filter(status__in=RESENDABLE).order_by("pk")
    by_tenant: dict[int | None, list[int]] = {}
    for pk, tenant_id in rows.values_list("pk", "booking__page__tenant_id").iterator(2000):
        by_tenant.setdefault(tenant_id, []).append(pk)
    if user.is_superuser and len(by_tenant) > 1:
        by_tenant = {None: sorted(pk for ids in by_tenant.values() for pk in ids)}
    jobs = []
    with transaction.atomic():
        for tenant_id, ids in by_tenant.items():
            job = ResendJob.objects.create(
                tenant_id=tenant_id,
                created_by=user,
                rebuild=rebuild,
                description=description[:500],
                delivery_ids=ids,
                total=len(ids),
            )
            jobs.append(job)
            _enqueue_on_commit(job)
    return jobs


def _enqueue_on_commit(job: ResendJob) -> None:
    transaction.on_commit(lambda: resend_job_enqueue(job_id=job.pk))


def resend_job_enqueue(*, job_id: int, queue: str | None = None) -> bool:
    """Enqueue the next chunk of a job (on `queue`, default: the default queue). A broker
    outage is logged, not raised: the job is in the database and `resend_jobs_resume`
    (beat) picks it up later."""
    return enqueue.task_send(RESEND_JOB_TASK, job_id, queue=queue)


def resend_jobs_resume(*, now: dt.datetime | None = None) -> list[int]:
    """Re-enqueue unfinished jobs that made no progress for RESEND_JOB_STALL (a lost task or
    a broker outage). Safe: a chunk is only ever taken under the job's row lock."""
    now = now or timezone.now()
    stalled = ResendJob.objects.filter(
        status__in=[ResendJob.Status.QUEUED, ResendJob.Status.RUNNING],
        updated_at__lt=now - RESEND_JOB_STALL,
    )
    ids = list(stalled.values_list("pk", flat=True))
    for job_id in ids:
        resend_job_enqueue(job_id=job_id)
    return ids


def resend_job_step(*, job_id: int, chunk_size: int | None = None) -> bool:
    """Resend the next chunk of a job; returns True when more chunks remain.

    The job row is locked (skip_locked) for the chunk, so a task delivered twice does not
    resend a chunk twice; `done` advances in the same transaction as the resend.
    """
    chunk_size = chunk_size or settings.RESEND_JOB_CHUNK_SIZE
    with transaction.atomic():
        job = (
            ResendJob.objects.select_for_update(skip_locked=True)
            .filter(pk=job_id, status__in=[ResendJob.Status.QUEUED, ResendJob.Status.RUNNING])
            .first()
        )
        if job is None:
            return False  # finished, or another worker holds this chunk
        ids = job.delivery_ids[job.done : job.done + chunk_size]
        if ids:
            job.resent += deliveries_resend(
                deliveries=Delivery.objects.filter(pk__in=ids), rebuild=job.rebuild
            )
        job.done += len(ids)
        more = job.done < job.total
        job.status = ResendJob.Status.RUNNING if more else ResendJob.Status.DONE
        if not more:
            job.finished_at = timezone.now()
        job.save(update_fields=["done", "resent", "status", "finished_at", "updated_at"])
    return more


def resend_job_fail(*, job_id: int, error: str) -> None:
    """Record that a job stopped on an unexpected error (shown on its page)."""
    ResendJob.objects.filter(pk=job_id).exclude(status=ResendJob.Status.DONE).update(
        status=ResendJob.Status.FAILED, error=error[:2000], finished_at=timezone.now()
    )


# -- the guided setup's test booking ------------------------------------------------------------


def test_booking_send(*, page: BookingPage) -> Booking:
    """Book the page's first free time for a sample guest with a plausible answer to every
    question, exactly as a guest would (the outbox then sends it to Salesforce).

    Returns the booking. Raises ValueError when the page offers no free time, and
    bookings' ValidationError / SlotTaken as booking_submit does.
    """
    slots = page_free_slots(page)
    if not slots:
        raise ValueError("The page offers no free time to book in the coming days.")
    return booking_submit(
        page=page,
        slot=slots[0],
        guest=Guest(name=TEST_GUEST_NAME, email=TEST_GUEST_EMAIL),
        answers=sample_answers(page),
        url_params={},
    )


# -- retention ------------------------------------------------------------------------------


def deliveries_prune(*, now: dt.datetime | None = None, batch: int = 2000) -> int:
    """Forget payloads and attempts of deliveries sent more than DELIVERY_RETENTION_DAYS
    ago; failed, held and dismissed deliveries keep theirs. Returns the number of attempts
    deleted. Works in batches, each its own transaction, so it never holds long locks."""
    now = now or timezone.now()
    cutoff = now - dt.timedelta(days=settings.DELIVERY_RETENTION_DAYS)
    old_sent = Delivery.objects.filter(status=Status.SENT, sent_at__lt=cutoff)
    deleted = 0
    while True:
        ids = list(
            DeliveryAttempt.objects.filter(delivery__in=old_sent).values_list("pk", flat=True)[
                :batch
            ]
        )
        if not ids:
            break
        deleted += DeliveryAttempt.objects.filter(pk__in=ids).delete()[0]
    while True:
        ids = list(old_sent.filter(payload__isnull=False).values_list("pk", flat=True)[:batch])
        if not ids:
            break
        Delivery.objects.filter(pk__in=ids).update(payload=None)
    logger.info("Pruned %s attempts of deliveries sent before %s", deleted, cutoff)
    return deleted

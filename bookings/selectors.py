"""Read-side queries of the booking site, shared by public views, the API and the admin."""

import datetime
import hashlib

from django.db.models import QuerySet
from django.shortcuts import get_object_or_404
from django.utils import timezone

from bookings.models import ApiKey, Booking, BookingChange, BookingPage, Question
from bookings.slots import slots_in_window


def page_get_public(*, tenant_slug: str, page_slug: str) -> BookingPage:
    """The active booking page at /<tenant_slug>/<page_slug>/. Raises Http404 otherwise."""
    return get_object_or_404(
        BookingPage.objects.select_related("tenant"),
        tenant__slug=tenant_slug,
        slug=page_slug,
        active=True,
    )


def page_questions(page: BookingPage) -> list[Question]:
    return list(page.questions.order_by("order", "pk"))


def bookings_active(page: BookingPage) -> QuerySet[Booking]:
    return page.bookings.filter(cancelled_at__isnull=True)


def booking_overlaps(
    *,
    page: BookingPage,
    starts_at: datetime.datetime,
    ends_at: datetime.datetime,
    exclude: Booking | None = None,
) -> bool:
    """Whether an active booking of `page` (other than `exclude`) overlaps [starts_at, ends_at)."""
    overlapping = bookings_active(page).filter(starts_at__lt=ends_at, ends_at__gt=starts_at)
    if exclude is not None:
        overlapping = overlapping.exclude(pk=exclude.pk)
    return overlapping.exists()


def booking_history(booking: Booking) -> list[BookingChange]:
    """The booking's changes, oldest first, with the staff member who made each."""
    return list(booking.changes.select_related("user").order_by("pk"))


def page_free_slots(
    page: BookingPage, *, now: datetime.datetime | None = None
) -> list[datetime.datetime]:
    """Slot starts (UTC) a guest may book now: in the window, not overlapping a booking."""
    slots = slots_in_window(page, now or timezone.now())
    if not slots:
        return []
    step = datetime.timedelta(minutes=page.duration_minutes)
    busy = (
        bookings_active(page)
        .filter(ends_at__gt=slots[0], starts_at__lt=slots[-1] + step)
        .order_by("starts_at")
        .values_list("starts_at", "ends_at")
    )
    # One sweep over the slots and the merged busy intervals (both sorted): linear, so a
    # long horizon of short slots with thousands of bookings stays cheap on a public page.
    merged: list[list[datetime.datetime]] = []
    for start, end in busy:
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    free, i = [], 0
    for slot in slots:
        while i < len(merged) and merged[i][1] <= slot:
            i += 1
        if i < len(merged) and merged[i][0] < slot + step:
            continue
        free.append(slot)
    return free


def booking_get_public(*, tenant_slug: str, page_slug: str, uid) -> Booking:
    """The booking with public `uid` under /<tenant_slug>/<page_slug>/ (also once the page
    is inactive: a guest keeps their confirmation). Raises Http404 otherwise."""
    return get_object_or_404(
        Booking.objects.select_related("page__tenant"),
        page__tenant__slug=tenant_slug,
        page__slug=page_slug,
        uid=uid,
    )


def booking_get_for_api(*, tenant, uid) -> Booking | None:
    """`tenant`'s booking `uid` if it was made through the API (its BOOKED change's actor),
    else None."""
    return (
        Booking.objects.select_related("page__tenant")
        .filter(
            page__tenant=tenant,
            uid=uid,
            changes__kind=BookingChange.Kind.BOOKED,
            changes__actor=BookingChange.Actor.API,
        )
        .first()
    )


def api_key_hash(raw_key: str) -> str:
    return hashlib.sha256(raw_key.encode()).hexdigest()


def api_key_find(raw_key: str) -> ApiKey | None:
    """The key (active or revoked) whose secret is `raw_key`, or None."""
    return ApiKey.objects.select_related("tenant").filter(key_hash=api_key_hash(raw_key)).first()

"""Write services of the booking site. Keyword-only, one transaction each."""

import datetime
import secrets
from dataclasses import dataclass
from typing import Any

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from bookings.answers import answers_clean, guest_clean
from bookings.models import ApiKey, Booking, BookingPage, Membership, Tenant
from bookings.selectors import api_key_hash, booking_overlaps, page_questions
from bookings.signals import booking_submitted
from bookings.slots import slot_is_offered
from bookings.url_params import url_params_limit

User = get_user_model()

API_KEY_PREFIX = "lsk_"


class SlotTaken(Exception):
    """The slot was booked by someone else (possibly a moment ago)."""


@dataclass(frozen=True)
class Guest:
    name: str
    email: str
    timezone: str = ""  # IANA zone the guest saw the times in; blank: the page's zone


@transaction.atomic
def staff_user_create(*, user: "User", tenant: Tenant, role: str) -> Membership:
    """Save `user` (password already set) as an active staff user of `tenant` with `role`.

    Returns the new Membership. Staff users reach the admin but see only their tenants.
    """
    user.is_staff = True
    user.is_active = True
    user.save()
    return Membership.objects.create(user=user, tenant=tenant, role=role)


def booking_submit(
    *,
    page: BookingPage,
    slot: datetime.datetime,
    guest: Guest,
    answers: dict[str, Any],
    url_params: dict[str, Any],
) -> Booking:
    """Book `slot` (an aware start time) on `page` for `guest`.

    Validates the guest and `answers` against the page's questions, stores the answers
    typed and `url_params` within the limits of `bookings.url_params`, and saves the
    Booking in one transaction, sending `booking_submitted` inside it.

    Returns the new Booking. Raises ValidationError (a dict keyed "slot", "name",
    "email", "timezone", "answers.<key>") for invalid input, SlotTaken when another
    active booking holds or overlaps the slot.
    """
    errors: dict[str, list[str]] = {}
    cleaned_guest, cleaned_answers = {}, {}
    try:
        cleaned_guest = guest_clean(name=guest.name, email=guest.email, timezone=guest.timezone)
    except ValidationError as e:
        errors.update(e.message_dict)
    try:
        cleaned_answers = answers_clean(page_questions(page), answers)
    except ValidationError as e:
        errors.update(e.message_dict)
    if not page.active or not slot_is_offered(page, slot, timezone.now()):
        errors["slot"] = ["This time is not available. Please pick one of the offered times."]
    if errors:
        raise ValidationError(errors)
    ends_at = slot + datetime.timedelta(minutes=page.duration_minutes)
    if booking_overlaps(page=page, starts_at=slot, ends_at=ends_at):
        raise SlotTaken
    try:
        with transaction.atomic():
            booking = Booking.objects.create(
                page=page,
                starts_at=slot,
                ends_at=ends_at,
                guest_name=cleaned_guest["name"],
                guest_email=cleaned_guest["email"],
                guest_timezone=cleaned_guest["timezone"] or page.timezone,
                answers=cleaned_answers,
                url_params=url_params_limit(url_params),
            )
            booking_submitted.send(sender=Booking, booking=booking)
    except IntegrityError:
        # A concurrent submit won the race; the partial unique index refused this one.
        if booking_overlaps(page=page, starts_at=slot, ends_at=ends_at):
            raise SlotTaken from None
        raise
    return booking


@transaction.atomic
def booking_cancel(*, booking: Booking) -> Booking:
    """Cancel `booking`, freeing its slot. Cancelling twice keeps the first time.

    Returns the booking as stored.
    """
    Booking.objects.filter(pk=booking.pk, cancelled_at__isnull=True).update(
        cancelled_at=timezone.now()
    )
    booking.refresh_from_db(fields=["cancelled_at"])
    return booking


@transaction.atomic
def api_key_create(*, tenant: Tenant, name: str) -> tuple[ApiKey, str]:
    """Create an API key for `tenant`. Returns the key and its secret, which is not
    stored (only its sha256 is) and so can be shown this once."""
    prefix = API_KEY_PREFIX + secrets.token_hex(4)
    raw_key = f"{prefix}_{secrets.token_urlsafe(32)}"
    api_key = ApiKey.objects.create(
        tenant=tenant, name=name, prefix=prefix, key_hash=api_key_hash(raw_key)
    )
    return api_key, raw_key


@transaction.atomic
def api_key_revoke(*, api_key: ApiKey) -> ApiKey:
    """Revoke `api_key` for good; requests with it are refused from now on."""
    ApiKey.objects.filter(pk=api_key.pk, revoked_at__isnull=True).update(revoked_at=timezone.now())
    api_key.refresh_from_db(fields=["revoked_at"])
    return api_key


def api_key_mark_used(*, api_key: ApiKey) -> None:
    """Record that `api_key` authenticated a request just now (one UPDATE)."""
    ApiKey.objects.filter(pk=api_key.pk).update(last_used_at=timezone.now())

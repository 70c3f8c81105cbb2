"""The guest's private link to manage a booking: /<tenant>/<page>/manage/<token>/.

The token is the booking's uid signed with SECRET_KEY (django.core.signing, its own salt),
so it cannot be guessed or forged from the uid on the confirmation page. It carries no
date: it lapses when the meeting ends, checked against the booking's current `ends_at`, so
a rescheduled meeting keeps its link for the new time.
"""

from django.conf import settings
from django.core import signing
from django.urls import reverse
from django.utils import timezone

from bookings.models import Booking

SALT = "bookings.manage-link"


class LinkExpired(Exception):
    """The token is genuine but its meeting is over; `language` is its page's."""

    def __init__(self, language: str = "") -> None:
        super().__init__(language)
        self.language = language


def manage_token(booking: Booking) -> str:
    return signing.dumps(booking.uid.hex, salt=SALT, compress=False)


def manage_path(booking: Booking) -> str:
    page = booking.page
    return reverse("bookings:manage", args=[page.tenant.slug, page.slug, manage_token(booking)])


def manage_url(booking: Booking) -> str:
    """The absolute link sent to the guest."""
    return f"{settings.SITE_URL}{manage_path(booking)}"


def manage_booking_find(*, tenant_slug: str, page_slug: str, token: str) -> Booking:
    """The booking `token` was made for, under /<tenant_slug>/<page_slug>/.

    Raises Booking.DoesNotExist for a tampered or unknown token (or another page's), and
    LinkExpired once the meeting has ended.
    """
    try:
        uid = signing.loads(token, salt=SALT)
    except signing.BadSignature:
        raise Booking.DoesNotExist from None
    booking = Booking.objects.select_related("page__tenant", "page__host").get(
        uid=uid, page__tenant__slug=tenant_slug, page__slug=page_slug
    )
    if booking.ends_at <= timezone.now():
        raise LinkExpired(booking.page.language)
    return booking

"""Intake never depends on Redis: with the cache unreachable, guests and API clients still
book (the flood guard is skipped with a warning), and nothing on the public page needs it."""

import logging

import pytest

from bookings.models import Booking
from tests.bookings.test_api import SECRET, body, post
from tests.bookings.test_views import form_data
from tests.factories import ApiKeyFactory

pytestmark = pytest.mark.django_db


def test_public_page_books_while_the_cache_is_down(
    client, booking_page, free_slot, dead_redis_cache, caplog
):
    url = booking_page.get_absolute_url()
    assert client.get(url).status_code == 200
    with caplog.at_level(logging.WARNING, logger="bookings.ratelimits"):
        response = client.post(url, form_data(free_slot))

    assert response.status_code == 302
    booking = Booking.objects.get()
    assert response["Location"].endswith(f"/booked/{booking.uid}/")
    assert client.get(response["Location"]).status_code == 200
    assert "cache is unreachable" in caplog.text


def test_api_books_while_the_cache_is_down(
    client, booking_page, tenant_a, free_slot, dead_redis_cache
):
    ApiKeyFactory(tenant=tenant_a, raw_key=SECRET)

    response = post(client, body(free_slot))

    assert response.status_code == 201, response.content
    assert Booking.objects.filter(pk=response.json()["id"]).exists()


def test_sessions_csrf_and_messages_never_use_the_cache(settings):
    """Kept explicit in settings: a cache-backed session engine would put the public
    page's CSRF check and messages behind Redis."""
    assert settings.SESSION_ENGINE == "django.contrib.sessions.backends.db"
    assert settings.CSRF_USE_SESSIONS is False  # the CSRF token lives in a cookie
    assert settings.MESSAGE_STORAGE == "django.contrib.messages.storage.fallback.FallbackStorage"

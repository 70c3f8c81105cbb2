"""Fixtures of the booking-site tests."""

import socket

import pytest
from django.conf import settings as django_settings
from django.core.cache import cache
from redis.exceptions import RedisError

from bookings.models import Question
from bookings.selectors import page_free_slots
from tests.factories import BookingPageFactory, QuestionFactory


@pytest.fixture
def booking_page(tenant_a):
    """Tenant A's page with a required company question and an optional meeting type."""
    page = BookingPageFactory(tenant=tenant_a, slug="intro", title="Intro call")
    QuestionFactory(page=page, key="company", label="Company", required=True, order=1)
    QuestionFactory(
        page=page,
        key="meeting_type",
        label="Meeting type",
        kind=Question.Kind.CHOICE,
        choices=["Demo", "Consultation", "Support"],
        order=2,
    )
    return page


@pytest.fixture
def free_slot(booking_page):
    """The first slot a guest may book on `booking_page`."""
    return page_free_slots(booking_page)[0]


def closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def dead_redis_cache(settings):
    """The production cache configuration, pointed at a Redis that is down."""
    settings.CACHES = {
        "default": {
            **django_settings.CACHES["default"],
            "BACKEND": "leadsync.cache.RedisCache",
            "LOCATION": f"redis://127.0.0.1:{closed_port()}/0",
            "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
        }
    }
    with pytest.raises(RedisError):
        cache.get("probe")  # really down

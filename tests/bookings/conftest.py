"""Fixtures of the booking-site tests."""

import pytest

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

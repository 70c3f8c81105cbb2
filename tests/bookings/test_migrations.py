"""Migration 0007 moves each page's one daily span into weekly windows."""

import datetime

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from bookings.models import BookingPage

BEFORE = [("bookings", "0006_booking_lifecycle")]


@pytest.mark.django_db(transaction=True)
def test_weekdays_and_day_hours_become_one_window_per_weekday():
    executor = MigrationExecutor(connection)
    executor.migrate(BEFORE)
    old = executor.loader.project_state(BEFORE).apps
    tenant = old.get_model("bookings", "Tenant").objects.create(slug="m", name="M")
    pages = old.get_model("bookings", "BookingPage").objects
    nine, half_past_twelve = datetime.time(9), datetime.time(12, 30)
    pages.create(
        tenant=tenant, slug="p", title="P", weekdays=[4, 0], day_start=nine,
        day_end=half_past_twelve,
    )  # fmt: skip
    pages.create(tenant=tenant, slug="none", title="N", weekdays=[])

    executor = MigrationExecutor(connection)  # a fresh graph, as `migrate` would load it
    executor.migrate(executor.loader.graph.leaf_nodes())  # 0007 and all after: as it was

    page = BookingPage.objects.get(slug="p")
    assert [(w.weekday, w.start, w.end) for w in page.windows.all()] == [
        (0, nine, half_past_twelve),
        (4, nine, half_past_twelve),
    ]
    assert not BookingPage.objects.get(slug="none").windows.exists()

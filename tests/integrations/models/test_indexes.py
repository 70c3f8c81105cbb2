"""Every lookup the outbox tables serve has an index, with no column indexed twice.

Each index costs every booking's insert and every status change of the push, so the
columns a post leaves empty (its change, post, dismisser, error code) have partial indexes
and the foreign keys that lead a composite index have none of their own. These tests ask
PostgreSQL for its plan with sequential scans off: a lookup no index can serve (say a
partial index whose condition the query does not imply) shows as a Seq Scan.
"""

import pytest
from django.db import connection

from bookings.models import BookingChange, GuestEmail
from integrations.models import Delivery
from tests.factories import DeliveryFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def no_seq_scans():
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")  # the test's transaction only


def _index_of(queryset) -> str:
    plan = queryset.explain()
    assert "Seq Scan" not in plan, plan
    return plan


@pytest.mark.usefixtures("no_seq_scans")
@pytest.mark.parametrize(
    ("lookup", "index"),
    [
        (lambda d: Delivery.objects.filter(change=d.change_id), "delivery_change"),
        (lambda d: Delivery.objects.filter(change__in=[d.change_id, 7]), "delivery_change"),
        (lambda d: Delivery.objects.filter(post=d.post_id), "delivery_post"),
        (
            lambda d: Delivery.objects.filter(dismissed_by=d.dismissed_by_id),
            "delivery_dismissed_by",
        ),
        (
            lambda d: Delivery.objects.filter(last_error_code__in=["API_USAGE_PAUSED", "X"]),
            "delivery_failed_code",
        ),
        (
            lambda d: Delivery.objects.filter(last_error_code="INVALID_EMAIL"),
            "delivery_failed_code",
        ),
        (lambda d: Delivery.objects.exclude(last_error_code=""), "delivery_failed_code"),
        (
            lambda d: Delivery.objects.filter(connection=d.connection_id),
            "delivery_connection_status",
        ),
        (lambda d: GuestEmail.objects.filter(change=d.change_id), "guestemail_one_per_change"),
        (lambda d: GuestEmail.objects.filter(status="pending"), "guestemail_due"),
        (lambda d: BookingChange.objects.filter(booking=d.booking_id), "bookingchange_booking"),
    ],
)
def test_each_lookup_uses_its_index(lookup, index):
    post = DeliveryFactory()
    change = BookingChange.objects.create(
        booking=post.booking, kind="cancelled", actor="staff", starts_at=post.booking.starts_at,
        ends_at=post.booking.ends_at, sequence=1,
    )  # fmt: skip
    write_back = DeliveryFactory(
        booking=post.booking, kind=Delivery.Kind.WRITE_BACK, change=change, post=post,
        connection=post.connection, target=post.target, dismissed_by=UserFactory(),
        last_error_code="INVALID_EMAIL",
    )  # fmt: skip

    assert index in _index_of(lookup(write_back))


def test_no_column_of_the_outbox_tables_leads_two_indexes():
    """A second index that starts with the same column serves no lookup the first does
    not, and costs every write (unique constraints aside: they are rules, not lookups)."""
    tables = ["integrations_delivery", "bookings_guestemail", "bookings_bookingchange"]
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT t.relname, a.attname, array_agg(i.relname ORDER BY i.relname)
            FROM pg_index x
            JOIN pg_class i ON i.oid = x.indexrelid
            JOIN pg_class t ON t.oid = x.indrelid
            JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = x.indkey[0]
            WHERE t.relname = ANY(%s) AND NOT x.indisunique
            GROUP BY t.relname, a.attname
            HAVING count(*) > 1
            """,
            [tables],
        )
        assert cursor.fetchall() == []

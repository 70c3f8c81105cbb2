"""rows_update writes what bulk_update writes, in one statement."""

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from integrations.delivery.outcomes import RESULT_FIELDS
from integrations.models import Delivery
from integrations.models.bulk import rows_update
from tests.factories import DeliveryFactory

pytestmark = pytest.mark.django_db


def test_rows_update_saves_every_field_of_every_row_in_one_statement():
    rows = [DeliveryFactory() for _ in range(3)]
    when = dt.datetime(2030, 1, 2, 3, 4, 5, tzinfo=dt.UTC)
    for n, row in enumerate(rows):
        row.status = Delivery.Status.FAILED if n else Delivery.Status.SENT
        row.sf_record_id = f"00Q00000000000{n}AAA"
        row.payload = {"Company": f"O'Brien & Co {n}", "Seats": n} if n != 1 else None
        row.steps = {"person": {"id": f"x{n}", "skipped": {"Title": "kept"}}}
        row.next_attempt_at = when if n == 2 else None
        row.retries = n
        row.last_error_fields = ["Company"] * n
        row.last_error_message = 'quote " and \\ backslash'

    with CaptureQueriesContext(connection) as queries:
        assert rows_update(rows, RESULT_FIELDS) == 3
    assert len(queries) == 1

    for row in rows:
        stored = Delivery.objects.get(pk=row.pk)
        for name in RESULT_FIELDS:
            assert getattr(stored, name) == getattr(row, name), name
    assert rows_update([], ["status"]) == 0

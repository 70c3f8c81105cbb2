"""The health check of kept PostgreSQL connections (leadsync/postgresql/base.py): no
round trip while the connection is quiet, Django's `SELECT 1` when the server spoke, and
a connection the server ended is replaced before the request uses it."""

import select

import psycopg
import pytest
from django.db import connection
from django.db.backends.postgresql import base as django_base

from bookings.models import Tenant
from tests.conftest import wait_until

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def select_ones(monkeypatch):
    """Every `SELECT 1` of Django's own check (it bypasses Django's cursor wrappers)."""
    calls = []
    real = django_base.DatabaseWrapper.is_usable

    def counted(self):
        calls.append(self.alias)
        return real(self)

    monkeypatch.setattr(django_base.DatabaseWrapper, "is_usable", counted)
    return calls


@pytest.fixture
def other_session():
    s = connection.settings_dict
    with psycopg.connect(
        host=s["HOST"] or "127.0.0.1", port=s["PORT"] or 5432, user=s["USER"] or "postgres",
        dbname=s["NAME"], autocommit=True,
    ) as other:  # fmt: skip
        yield other


def _readable(conn) -> bool:
    return bool(select.select([conn.pgconn.socket], [], [], 0)[0])


def test_the_backend_is_ours_with_health_checks_on():
    assert connection.settings_dict["ENGINE"] == "leadsync.postgresql"
    assert connection.health_check_enabled


def test_a_quiet_kept_connection_passes_without_a_statement(select_ones):
    Tenant.objects.count()
    assert connection.is_usable()
    assert select_ones == []


def test_a_connection_the_server_spoke_on_is_checked_with_select_1(select_ones, other_session):
    with connection.cursor() as cursor:
        cursor.execute("LISTEN leadsync_test_health")
    other_session.execute("NOTIFY leadsync_test_health")
    wait_until(lambda: _readable(connection.connection), timeout=5, message="the notice")
    assert connection.is_usable()  # Django's SELECT 1 read the notice: still usable
    assert select_ones == ["default"]
    assert connection.is_usable()  # quiet again
    assert select_ones == ["default"]


def test_a_connection_the_server_ended_is_replaced_before_the_next_use(other_session):
    Tenant.objects.count()
    old = connection.connection
    pid = old.info.backend_pid
    other_session.execute("SELECT pg_terminate_backend(%s)", [pid])
    wait_until(lambda: _readable(old), timeout=5, message="the server's goodbye")
    assert not connection.is_usable()

    connection.health_check_done = False  # as at the start of a request
    connection.close_if_health_check_failed()
    assert Tenant.objects.count() == 0  # no error: a new connection
    assert connection.connection is not old
    assert connection.connection.info.backend_pid != pid


def test_a_connection_inside_a_transaction_is_checked_with_select_1(select_ones):
    from django.db import transaction

    with transaction.atomic():
        Tenant.objects.count()
        assert connection.is_usable()
    assert select_ones == ["default"]

"""Django's PostgreSQL backend, with a health check that costs no round trip while the
connection is quiet (ENGINE "leadsync.postgresql", set in settings for PostgreSQL URLs).

CONN_HEALTH_CHECKS makes Django check a kept connection before a request (or a task)
first uses it, so that after a PostgreSQL restart the first request of each process
reconnects instead of failing on the dead socket. Django's check is a `SELECT 1`: one
round trip per request, a tenth of a booking's. But a server that ends a connection
(a restart, pg_terminate_backend, idle_session_timeout) sends the client an error and
closes the socket, and a kept connection between requests is otherwise silent: an idle
connection whose socket has nothing to read is as usable as `SELECT 1` would find it.
Only when there is something to read (the server's goodbye, a notice) does the check
run `SELECT 1`, which reads it and tells. A peer that vanished without a word (a cut
network) is not seen by `SELECT 1` either until TCP gives up; the same then holds for
the request's own first statement.
"""

import select

import psycopg
from django.db.backends.postgresql import base
from psycopg import pq


class DatabaseWrapper(base.DatabaseWrapper):
    def is_usable(self) -> bool:
        if self.connection is not None and _quiet(self.connection):
            return True
        return super().is_usable()


def _quiet(connection) -> bool:
    """Whether `connection` is open, idle outside a transaction, and its socket has
    nothing to read (no message from the server since its last answer)."""
    pgconn = connection.pgconn
    if pgconn.status != pq.ConnStatus.OK or (
        pgconn.transaction_status != pq.TransactionStatus.IDLE
    ):
        return False
    try:
        poller = select.poll()
        poller.register(pgconn.socket, select.POLLIN | select.POLLPRI)
        return not poller.poll(0)
    except (OSError, ValueError, AttributeError, psycopg.Error):  # no poll(): Windows
        return False

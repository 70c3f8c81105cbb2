"""Throwaway services to break on purpose (integrations.management.chaos.servers), as
fixtures. The shared Redis and PostgreSQL are never touched."""

import os

import pytest

from integrations.management.bench.procs import free_port
from integrations.management.chaos.servers import ThrowawayPostgres, ThrowawayRedis

__all__ = ["OUTAGES", "OUTAGE_SECONDS", "ThrowawayPostgres", "ThrowawayRedis", "free_port"]

# How long each outage lasts and how many a test goes through: short in `make test`;
# `make chaos` repeats the issue-16 measurement (15 s, twice).
OUTAGE_SECONDS = float(os.environ.get("CHAOS_OUTAGE_SECONDS", "5"))
OUTAGES = int(os.environ.get("CHAOS_OUTAGES", "1"))


@pytest.fixture
def throwaway_redis():
    server = ThrowawayRedis()
    server.start()
    yield server
    if server.proc.poll() is None:
        server.proc.kill()
        server.proc.wait(timeout=10)


@pytest.fixture
def throwaway_postgres():
    server = ThrowawayPostgres()
    server.create()
    server.start()
    yield server
    server.remove()

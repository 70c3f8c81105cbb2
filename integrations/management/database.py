"""The throwaway database of a measuring run (`make bench`, `make chaos`)."""

from __future__ import annotations

import psycopg
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import CommandError


def run_database_prepare(*, marker: str, what: str, target: str) -> None:
    """Check that the run's database is a PostgreSQL database of its own (its name holds
    `marker`) and that REDIS_URL is set; create the database if missing and migrate it.
    Raises CommandError naming `what` (e.g. "The bench") and `target` (its make target)."""
    db = settings.DATABASES["default"]
    if "postgresql" not in db["ENGINE"] or marker not in db["NAME"]:
        raise CommandError(
            f"{what} flushes its database: set DATABASE_URL to a PostgreSQL database whose "
            f"name contains {marker!r} ({target} does)."
        )
    if not settings.REDIS_URL:
        raise CommandError(f"{what} needs REDIS_URL (a Redis DB of its own).")
    maintenance = psycopg.connect(
        host=db["HOST"] or "127.0.0.1", port=db["PORT"] or 5432,
        user=db["USER"] or "postgres", password=db["PASSWORD"] or None,
        dbname="postgres", autocommit=True,
    )  # fmt: skip
    with maintenance:
        exists = maintenance.execute(
            "SELECT 1 FROM pg_database WHERE datname = %s", [db["NAME"]]
        ).fetchone()
        if not exists:
            maintenance.execute(f'CREATE DATABASE "{db["NAME"]}"')
    call_command("migrate", interactive=False, verbosity=0)

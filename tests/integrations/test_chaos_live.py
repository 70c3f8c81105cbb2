"""`make chaos`, reduced: two of its scenarios through the runner itself, on real
processes (emulator, gunicorn, celery workers and beat, production settings), with 50
bookings each and short leases, so `make test` keeps the runner honest."""

import pytest

from integrations.management.chaos import figures, runner

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

OPTS = {
    "bookings": 50, "rate": 25.0, "latency_ms": 20, "concurrency": 2, "settle_timeout": 90.0,
    "outage_seconds": 5.0, "claims_back_limit": 45.0,
    # A lease and a sweep this short let the killed worker's claims come back in
    # seconds; `make chaos` keeps the defaults (20 s, 15 s).
    "env": {"DELIVERY_LEASE_SECONDS": "6", "DELIVERY_SWEEP_SECONDS": "3"},
}  # fmt: skip


def test_no_booking_lost_duplicated_or_left_unsent_when_a_worker_dies_or_answers_are_lost(
    redis_url, tmp_path
):
    results = runner.run(["worker-sigkill", "timeout-after-write"], OPTS, tmp_path, print)

    for result in results:
        assert result.accepted == result.attempted == 50, figures.notes_text(result)
        assert result.in_salesforce == 50, figures.notes_text(result)
        assert (result.lost, result.duplicate_records, result.non_final) == (0, 0, 0), (
            figures.notes_text(result)
        )
        assert result.settle_seconds is not None
        assert all(result.checks.values()), figures.notes_text(result)
    sigkill, timeouts = results
    assert sigkill.extra["held_at_kill"] > 0
    # The answers were lost, not the writes: found by booking id, never written again.
    assert timeouts.duplicates == 0
    assert sigkill.extra["claims_back_seconds"] < 6 + 3 + 10
    assert timeouts.failed == 0
    assert timeouts.max_retries <= 2

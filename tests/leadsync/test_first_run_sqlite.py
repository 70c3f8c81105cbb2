"""The first run (`make run` without DATABASE_URL) books on SQLite: the statements the
booking path writes out for speed work there as on PostgreSQL (the rest of the suite runs
on PostgreSQL only)."""

import json
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_a_booking_on_sqlite_blocks_its_time_and_queues_its_targets(tmp_path):
    keep = ("PATH", "HOME", "LANG", "VIRTUAL_ENV")
    env = {name: os.environ[name] for name in keep if name in os.environ}
    env |= {
        "DJANGO_SETTINGS_MODULE": "leadsync.settings",
        "DJANGO_DEBUG": "true",
        "LEADSYNC_VAR_DIR": str(tmp_path),
        "PYTHONPATH": str(REPO),
    }
    run = subprocess.run(
        [sys.executable, str(REPO / "tests" / "leadsync" / "sqlite_first_run.py")],
        env=env, cwd=REPO, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr[-3000:]
    assert (tmp_path / "leadsync.sqlite3").exists()
    result = json.loads(run.stdout.strip().splitlines()[-1])
    assert result == {
        "free_before": True,
        "free_after": False,
        "status": "taken",
        "status_excluding_it": "free",
        "hosts_other_page": "taken",
        "unrelated_page": "free",
        "next_slot": "free",
        "deliveries": [["held", "Lead"]],  # one per enabled target; no org connected yet
        "second_booking": "taken",
    }

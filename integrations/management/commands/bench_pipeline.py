"""`make bench`: measure intake and delivery through the real pipeline, and print one table.

    manage.py bench_pipeline [--modes intake,queued,steady,tenants,scale,people,writeback]
        [--latency-ms 100]
        [--clients 16] [--intake-seconds 10] [--queued-bookings 5000,50000]
        [--rates 20,100] [--duration 30] [--tenants 100] [--tenant-bookings 200]
        [--workers 2,4] [--scale-bookings 50000] [--concurrency 4 per core]
        [--people-bookings 5000] [--people-baseline 500]
        [--people-baseline-env "DELIVERY_BATCHING=false;DELIVERY_BATCHING=false,..."]
        [--people-existing-share 0.4] [--writeback-bookings 1000]

Modes: see integrations/management/bench/http_modes.py (intake, steady), drains.py
(queued, tenants, scale), people.py (people) and write_backs.py (writeback); README
"Benchmarks" says what each number means.

Real parts only, all on loopback: PostgreSQL (a database of its own whose name must
contain "bench"; created, migrated and flushed before every run), a Redis DB of its own
(flushed), the Salesforce emulator as its own process (blank org, --latency-ms per call),
gunicorn and `celery worker` processes run with production settings (DJANGO_DEBUG=false,
secrets generated per bench and never printed). Every run starts its processes afresh and
stops them, also on Ctrl-C or TERM. Results also go to var/bench/results.json.
"""

from __future__ import annotations

import datetime as dt
import os
import signal
import time
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from integrations.management.bench import drains, http_modes, people, report, write_backs
from integrations.management.bench.context import Context
from integrations.management.database import run_database_prepare

MODES = {
    "intake": http_modes.intake,
    "queued": drains.queued,
    "steady": http_modes.steady,
    "tenants": drains.tenants,
    "scale": drains.scale,
    "people": people.people,
    "writeback": write_backs.write_backs,
}


def _ints(text: str) -> list[int]:
    return [int(v) for v in text.split(",") if v.strip()]


def _floats(text: str) -> list[float]:
    return [float(v) for v in text.split(",") if v.strip()]


def _load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.2f}, {five:.2f}, {fifteen:.2f} on {os.cpu_count()} cores"


class Command(BaseCommand):
    help = "Benchmark intake and delivery (real gunicorn, workers, Redis, PostgreSQL, emulator)."
    requires_system_checks: list = []

    def add_arguments(self, parser) -> None:
        add = parser.add_argument
        add("--modes", default=",".join(MODES), help="comma-separated: " + ", ".join(MODES))
        add("--latency-ms", type=int, default=100, help="emulator latency per API call")
        # A push waits on Salesforce most of its time: the top of the README's guidance
        # (2-4 prefork children per core), as a deployment of push workers would run.
        add("--concurrency", type=int, default=4 * (os.cpu_count() or 1),
            help="prefork children per worker process (default: 4 per core)")  # fmt: skip
        add("--web-workers", type=int, default=2)
        add("--web-threads", type=int, default=4)
        add("--clients", type=int, default=16, help="intake: concurrent clients")
        add("--intake-seconds", type=float, default=10.0, help="intake: window per kind")
        add("--intake-slice", type=float, default=1.0,
            help="intake: the kinds take turns in slices of this many seconds")  # fmt: skip
        add("--intake-max-bookings", type=int, default=6000,
            help="intake: free slots provided per POST kind")  # fmt: skip
        add("--api-keys", type=int, default=64, help="intake: API keys (120/min each)")
        add("--queued-bookings", type=_ints, default=[5000, 50000])
        add("--rates", type=_floats, default=[20.0, 100.0], help="steady: bookings/s")
        add("--duration", type=float, default=30.0, help="steady: seconds per rate")
        add("--tenants", type=int, default=100)
        add("--tenant-bookings", type=int, default=200)
        add("--workers", type=_ints, default=[2, 4], help="scale: worker processes to compare")
        add("--scale-bookings", type=int, default=50000)
        add("--people-bookings", type=int, default=5000,
            help="people: bookings drained with batching on (0: none)")  # fmt: skip
        add("--people-baseline", type=int, default=500,
            help="people: bookings of the baseline run (0: none)")  # fmt: skip
        add("--people-baseline-env", type=people.env_sets,
            default="DELIVERY_BATCHING=false;DELIVERY_BATCHING=false,DELIVERY_BATCH_SIZE=1",
            help="people: worker environment of each baseline run "
                 "(NAME=value,...; runs separated by ;)")  # fmt: skip
        add("--people-existing-share", type=float, default=0.4,
            help="people: share of bookings by guests already in Salesforce")  # fmt: skip
        add("--writeback-bookings", type=int, default=1000,
            help="writeback: bookings posted, then all cancelled at once (0: none)")  # fmt: skip
        add("--backlog", choices=["copy", "service"], default="copy",
            help="how backlogs are built: copies of a submitted booking's rows (fast), "
                 "or booking_submit for every booking (~25 ms each)")  # fmt: skip
        add("--drain-timeout", type=float, default=600.0, help="s; a drain never hangs")

    def handle(self, *args, **opts) -> None:
        modes = [m.strip() for m in opts["modes"].split(",") if m.strip()]
        unknown = [m for m in modes if m not in MODES]
        if unknown:
            raise CommandError(f"unknown mode(s) {unknown}: choose from {', '.join(MODES)}")
        self._database_prepare()
        var = Path(settings.VAR_DIR) / "bench"
        (var / "var").mkdir(parents=True, exist_ok=True)
        signal.signal(signal.SIGTERM, _interrupt)  # TERM stops the children like Ctrl-C
        ctx = Context(opts, var)
        began, load_before = time.monotonic(), _load()
        self.stdout.write(f"bench: {', '.join(modes)}; {load_before}")
        rows: list[report.Row] = []

        def out(row: report.Row) -> None:
            self.stdout.write(report.line(row))

        self.stdout.write(report.header())
        try:
            for mode in modes:
                rows += MODES[mode](ctx, out)
        finally:
            ctx.end()
        context = {
            "finished": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "minutes": round((time.monotonic() - began) / 60, 1),
            "load_before": load_before, "load_after": _load(),
            "latency_ms": opts["latency_ms"], "worker_concurrency": opts["concurrency"],
            "web": f"gunicorn {opts['web_workers']} workers x {opts['web_threads']} threads",
            "clients": opts["clients"],
        }  # fmt: skip
        self.stdout.write("")
        self.stdout.write(
            f"Emulator {opts['latency_ms']} ms per call; worker processes x{opts['concurrency']}"
            f"; {context['web']}; {context['minutes']} min; before: {load_before}; after: "
            f"{context['load_after']}."
        )
        self.stdout.write(report.header())
        for row in rows:
            self.stdout.write(report.line(row))
        path = var / "results.json"
        report.results_write(path, rows, context)
        (var / "results.md").write_text(report.markdown(rows) + "\n")
        self.stdout.write(f"Written to {path} (and results.md)")

    def _database_prepare(self) -> None:
        run_database_prepare(marker="bench", what="The bench", target="make bench")


def _interrupt(signum, frame) -> None:
    raise KeyboardInterrupt

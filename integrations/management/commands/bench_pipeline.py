"""`make bench`: drive bookings through the real delivery pipeline and print its figures.

    manage.py bench_pipeline [--bookings 5000] [--unbatched-bookings 1000] [--rate 20]
                             [--duration 30] [--latency-ms 100] [--concurrency 2]
                             [--modes queued,steady] [--no-unbatched]

Two modes, each with batching on and off (DELIVERY_BATCHING in the worker):
- queued: N bookings saved with booking_submit while no worker runs (their push tasks
  wait in Redis), then a worker starts and drains them. Batching off sends one request
  per booking, so it runs on --unbatched-bookings (fewer) to stay bounded.
- steady: a real web server (gunicorn) and a real worker; this process posts the public
  booking form over HTTP at --rate per second for --duration seconds and measures submit
  -> record latency (the Lead's CreatedDate in the emulator minus the time the POST left).

Real parts only, all on loopback: PostgreSQL (a dedicated database whose name must contain
"bench"; created, migrated and flushed here), a dedicated Redis DB (flushed), the
emulator as its own process with --latency-ms per call. Every run starts fresh processes
and stops them, also on Ctrl-C. Results also go to var/bench/results.json.
"""

from __future__ import annotations

import json
import math
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict
from pathlib import Path

import psycopg
import redis
import requests
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError

from bookings.services import Guest, booking_submit
from integrations.delivery import services as delivery_services
from integrations.management import bench_support as bench
from integrations.models import Delivery

SENT = Delivery.Status.SENT
DRAIN_TIMEOUT = 600  # seconds; a bench never hangs


class Command(BaseCommand):
    help = "Benchmark the delivery pipeline (real Redis, workers, web server, emulator)."
    requires_system_checks: list = []

    def add_arguments(self, parser) -> None:
        parser.add_argument("--bookings", type=int, default=5000)
        parser.add_argument("--unbatched-bookings", type=int, default=1000)
        parser.add_argument("--rate", type=float, default=20.0)
        parser.add_argument("--duration", type=float, default=30.0)
        parser.add_argument("--latency-ms", type=int, default=100)
        parser.add_argument("--concurrency", type=int, default=2)
        parser.add_argument("--modes", default="queued,steady")
        parser.add_argument("--no-unbatched", action="store_true", help="batching on only")

    def handle(self, *args, **opts) -> None:
        self.opts = opts
        self._database_prepare()
        self.var = Path(settings.VAR_DIR) / "bench"
        self.var.mkdir(parents=True, exist_ok=True)
        results: list[bench.Figures] = []
        for mode in [m.strip() for m in opts["modes"].split(",") if m.strip()]:
            for batching in [True] if opts["no_unbatched"] else [True, False]:
                if mode == "queued":
                    n = opts["bookings"] if batching else opts["unbatched_bookings"]
                    figures = self._isolated(lambda n=n, b=batching: self.queued(n, b))
                elif mode == "steady":
                    figures = self._isolated(lambda b=batching: self.steady(b))
                else:
                    raise CommandError(f"unknown mode {mode!r}: queued or steady")
                results.append(figures)
                self.stdout.write(bench.HEADER)
                self.stdout.write(figures.row())
        self.stdout.write("")
        self.stdout.write(f"Emulator latency {opts['latency_ms']} ms per call; worker "
                          f"concurrency {opts['concurrency']}; {len(results)} runs.")  # fmt: skip
        self.stdout.write(bench.HEADER)
        for figures in results:
            self.stdout.write(figures.row())
        out = self.var / "results.json"
        out.write_text(json.dumps([asdict(f) for f in results], indent=2))
        self.stdout.write(f"Written to {out}")

    # -- runs ------------------------------------------------------------------------------------

    def queued(self, n: int, batching: bool) -> bench.Figures:
        """N bookings wait in the broker while the worker consumes nothing (its consumer
        cancelled, like a paused broker); then it consumes and drains them."""
        from leadsync.celery import app

        procs, emulator = self.procs, self._emulator()
        pages = bench.tenant_setup(emulator, slug="bench", pages=math.ceil(n / bench.PAGE_SLOTS))
        worker = bench.worker_start(procs, self._env(emulator, batching), **self._worker())
        queue = app.conf.task_default_queue
        app.control.cancel_consumer(queue, destination=[worker], reply=True)
        began = time.monotonic()
        uids = set()
        for index, (page, slot) in enumerate(bench.slots_for(pages, n)):
            booking = booking_submit(
                page=page, slot=slot, guest=Guest(f"Guest Queued{index}", f"g{index}@example.com"),
                answers={"company": f"Company {index}"}, url_params={"LeadSource": "Web"},
            )  # fmt: skip
            uids.add(str(booking.uid))
        self.stdout.write(f"queued: {n} bookings saved in {time.monotonic() - began:.1f}s")
        start = time.monotonic()
        app.control.add_consumer(queue, destination=[worker], reply=True)
        self._drain(n)
        seconds = time.monotonic() - start
        duplicates, lost, _ = bench.outcome_count(emulator, uids)
        return bench.Figures(
            "queued", batching, n, seconds, bench.api_calls(emulator), duplicates, lost
        )

    def steady(self, batching: bool) -> bench.Figures:
        procs, emulator = self.procs, self._emulator()
        rate, duration = self.opts["rate"], self.opts["duration"]
        n = round(rate * duration)
        pages = bench.tenant_setup(
            emulator, slug="bench", pages=math.ceil(n / bench.PAGE_SLOTS) + 1
        )
        env = self._env(emulator, batching)
        bench.worker_start(procs, env, **self._worker())
        base = bench.web_start(procs, env)
        plan = list(bench.slots_for(pages, n))
        sent_at: dict[str, float] = {}
        errors: list[str] = []
        local = threading.local()

        def submit(index: int, page, slot) -> None:
            session = getattr(local, "session", None)
            if session is None:
                session = local.session = requests.Session()
                token = _csrf_token(session, f"{base}/{page.tenant.slug}/{page.slug}/")
                local.token = token
            data = {
                "slot": slot.isoformat(), "timezone": "UTC", "name": f"Guest Steady{index}",
                "email": f"s{index}@example.com", "q-company": f"Company {index}",
                "website": "", "csrfmiddlewaretoken": local.token,
            }  # fmt: skip
            url = f"{base}/{page.tenant.slug}/{page.slug}/?LeadSource=Web&utm_source=bench"
            left = time.time()
            response = session.post(url, data=data, allow_redirects=False, timeout=30)
            match = bench.UID_IN_LOCATION.search(response.headers.get("Location", ""))
            if response.status_code != 302 or not match:
                errors.append(f"{response.status_code} {response.text[:200]}")
                return
            sent_at[match[1]] = left

        start = time.monotonic()
        with ThreadPoolExecutor(max_workers=16) as pool:
            for index, (page, slot) in enumerate(plan):
                delay = start + index / rate - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
                pool.submit(submit, index, page, slot)
        if errors:
            self.stderr.write(f"steady: {len(errors)} submissions refused, e.g. {errors[0]}")
        self._drain(len(sent_at))
        seconds = time.monotonic() - start
        duplicates, lost, created = bench.outcome_count(emulator, set(sent_at))
        latencies = [created[uid] - left for uid, left in sent_at.items() if uid in created]
        return bench.Figures(
            "steady", batching, len(sent_at), seconds, bench.api_calls(emulator),
            duplicates, lost + len(errors),
            p50=bench.percentile(latencies, 0.5), p99=bench.percentile(latencies, 0.99),
        )  # fmt: skip

    # -- machinery ---------------------------------------------------------------------------

    def _isolated(self, run):
        """A fresh database, Redis DB and set of processes for one run."""
        call_command("flush", interactive=False, verbosity=0)
        redis.Redis.from_url(settings.REDIS_URL).flushdb()
        self.procs = bench.Processes(self.var)
        try:
            return run()
        finally:
            self.procs.stop_all()

    def _env(self, emulator: bench.Emulator, batching: bool) -> dict[str, str]:
        """Batching off: one record per API call and per claim (so tasks run in parallel)."""
        if batching:
            return bench.child_env(emulator, DELIVERY_BATCHING="true")
        return bench.child_env(emulator, DELIVERY_BATCHING="false", DELIVERY_BATCH_SIZE="1")

    def _worker(self) -> dict:
        return {"concurrency": self.opts["concurrency"]}

    def _emulator(self) -> bench.Emulator:
        return bench.emulator_start(
            self.procs, latency_ms=self.opts["latency_ms"], tls_dir=self.var / "emulator"
        )

    def _drain(self, n: int) -> None:
        """Wait until `n` deliveries are sent; sweep every 5 s like beat (bounded)."""
        deadline = time.monotonic() + DRAIN_TIMEOUT
        next_sweep = time.monotonic() + 5
        while Delivery.objects.filter(status=SENT).count() < n:
            if time.monotonic() > deadline:
                raise CommandError(f"not drained after {DRAIN_TIMEOUT}s")
            if time.monotonic() > next_sweep:
                delivery_services.deliveries_sweep()
                next_sweep = time.monotonic() + 5
            time.sleep(0.05)

    def _database_prepare(self) -> None:
        db = settings.DATABASES["default"]
        if "postgresql" not in db["ENGINE"] or "bench" not in db["NAME"]:
            raise CommandError(
                "The bench flushes its database: set DATABASE_URL to a PostgreSQL database "
                "whose name contains 'bench' (make bench does)."
            )
        if not settings.REDIS_URL:
            raise CommandError("The bench needs REDIS_URL (a Redis DB of its own).")
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


def _csrf_token(session: requests.Session, page_url: str) -> str:
    """GET the page once: the CSRF cookie lands in `session`; returns the form's token."""
    html = session.get(page_url, timeout=30).text
    marker = 'name="csrfmiddlewaretoken" value="'
    start = html.index(marker) + len(marker)
    return html[start : html.index('"', start)]

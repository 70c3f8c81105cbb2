"""`make chaos`: issue 16's faults on real processes, and one table of what they did.

    manage.py chaos [--scenarios worker-sigkill,redis-killed,...] [--bookings 300]
        [--rate 20] [--outage-seconds 15] [--settle-timeout 300]

Each scenario starts afresh what `make bench` starts (the emulator with a blank org,
gunicorn, celery workers, all with production settings) plus celery beat, lets guests
submit --bookings through gunicorn (page form and API alternately) while its fault
strikes, waits until every accepted booking's delivery is final, and reads the
emulator's records and write counts. Scenarios: integrations/management/chaos/scenarios.py;
README "Chaos" says what each column means.

Its database (a name containing "chaos") and Redis DB are its own: flushed before each
scenario. Scenarios that kill Redis or stop PostgreSQL run in a child process on a
throwaway redis-server / initdb cluster; the shared servers are never stopped. Every
child process is stopped at the end, on Ctrl-C and on TERM. Results also go to
var/chaos/results.json and results.md.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import time
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from integrations.management.chaos import figures, runner
from integrations.management.chaos.scenarios import SCENARIOS
from integrations.management.database import run_database_prepare


def _load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.2f}, {five:.2f}, {fifteen:.2f} on {os.cpu_count()} cores"


class Command(BaseCommand):
    help = "Faults on real processes: is any accepted booking lost or duplicated?"
    requires_system_checks: list = []

    def add_arguments(self, parser) -> None:
        add = parser.add_argument
        add("--scenarios", default=",".join(SCENARIOS), help="comma-separated: "
            + ", ".join(SCENARIOS))  # fmt: skip
        add("--bookings", type=int, default=300, help="submissions per scenario")
        add("--rate", type=float, default=20.0, help="submissions per second")
        add("--latency-ms", type=int, default=50, help="emulator latency per API call")
        add("--concurrency", type=int, default=2, help="prefork children per worker")
        add("--settle-timeout", type=float, default=300.0,
            help="s a scenario may take to make every delivery final")  # fmt: skip
        add("--outage-seconds", type=float, default=15.0, help="Redis / PostgreSQL down")
        add("--claims-back-limit", type=float, default=45.0,
            help="worker-sigkill: seconds in which the killed worker's claims return")  # fmt: skip
        # Internal: a scenario on throwaway servers, run by the command itself.
        add("--child", default="", help="(internal) run one scenario as a child")
        add("--redis-port", type=int, default=0, help="(internal)")
        add("--pg-port", type=int, default=0, help="(internal)")
        add("--result-json", default="", help="(internal)")

    def handle(self, *args, **opts) -> None:
        signal.signal(signal.SIGTERM, _interrupt)  # TERM stops the children like Ctrl-C
        var = Path(settings.VAR_DIR) / "chaos"
        (var / "var").mkdir(parents=True, exist_ok=True)
        if opts["child"]:
            runner.child_main(
                opts["child"], opts, var, redis_port=opts["redis_port"], pg_port=opts["pg_port"]
            )
            return
        names = [n.strip() for n in opts["scenarios"].split(",") if n.strip()]
        unknown = [n for n in names if n not in SCENARIOS]
        if unknown:
            raise CommandError(f"unknown scenario(s) {unknown}: choose from {', '.join(SCENARIOS)}")
        self._database_prepare()
        began, load_before = time.monotonic(), _load()
        self.stdout.write(f"chaos: {', '.join(names)}; {opts['bookings']} bookings each at "
                          f"{opts['rate']:g}/s; {load_before}")  # fmt: skip

        def out(result: figures.Result) -> None:
            self.stdout.write(figures.header())
            self.stdout.write(figures.line(result))
            self.stdout.write("  " + figures.notes_text(result))

        results = runner.run(names, opts, var, out)
        minutes = (time.monotonic() - began) / 60
        self.stdout.write("")
        self.stdout.write(
            f"{len(results)} scenarios in {minutes:.1f} min; before: {load_before}; "
            f"after: {_load()}."
        )
        self.stdout.write(figures.header())
        for result in results:
            self.stdout.write(figures.line(result))
        for result in results:
            self.stdout.write("  " + figures.notes_text(result))
        context = {
            "finished": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "minutes": round(minutes, 1), "load_before": load_before, "load_after": _load(),
            **{k: opts[k] for k in runner.CHILD_OPTIONS},
        }  # fmt: skip
        (var / "results.json").write_text(json.dumps(
            {"context": context, "results": [r.as_dict() for r in results]}, indent=2,
            default=str,
        ))  # fmt: skip
        (var / "results.md").write_text(figures.markdown(results) + "\n")
        self.stdout.write(f"Written to {var / 'results.json'} (and results.md)")
        if not all(result.ok for result in results):
            raise CommandError("some scenario lost, duplicated or left a booking unsettled")

    def _database_prepare(self) -> None:
        run_database_prepare(marker="chaos", what="The chaos runner", target="make chaos")


def _interrupt(signum, frame) -> None:
    raise KeyboardInterrupt

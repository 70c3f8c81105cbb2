"""One bench run's surroundings: a fresh database, Redis DB, emulator (blank org) and
set of processes per run, production environment for the children, and the drain
measurement every mode shares (time, API calls, worker CPU, write counts)."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import redis
from django.conf import settings
from django.core.management import call_command

from integrations.delivery import services as delivery_services
from integrations.management.bench import figures, procs
from integrations.management.bench.data import WRITES_KEY
from integrations.models import Delivery

SENT = Delivery.Status.SENT
POLL = 0.1  # s between looks at the outbox while draining


class Context:
    def __init__(self, opts: dict[str, Any], var: Path) -> None:
        self.opts, self.var = opts, var
        self.secrets = procs.Secrets.generate()
        # The driver encrypts the seeded refresh token; the children must decrypt it.
        settings.FIELD_ENCRYPTION_KEYS = [self.secrets.encryption_key]
        self.procs: procs.Processes | None = None
        self.emulator: procs.Emulator | None = None
        self.static_done = False

    # -- one isolated run ---------------------------------------------------------------------

    def begin(self) -> None:
        """Empty database and Redis DB, a new emulator (blank org) and process set."""
        call_command("flush", interactive=False, verbosity=0)
        redis.Redis.from_url(settings.REDIS_URL).flushdb()
        self.procs = procs.Processes(self.var)
        self.emulator = procs.emulator_start(
            self.procs, latency_ms=self.opts["latency_ms"], tls_dir=self.var / "emulator"
        )
        if not self.static_done:
            procs.collectstatic(self.env())
            self.static_done = True

    def end(self) -> None:
        if self.procs is not None:
            self.procs.stop_all()
        self.procs = self.emulator = None

    def env(self, **extra: str) -> dict[str, str]:
        return procs.production_env(self.emulator, self.secrets, var_dir=self.var / "var", **extra)

    def workers_start(self, processes: int, *, consume: bool) -> list[procs.Worker]:
        env = self.env()
        return [
            procs.worker_start(
                self.procs, env, concurrency=self.opts["concurrency"], consume=consume
            )
            for _ in range(processes)
        ]

    # -- draining --------------------------------------------------------------------------

    def drain_wait(self, count: int, *, timeout: float) -> float | None:
        """Seconds until `count` deliveries are sent (None: not within `timeout`). Sweeps
        due deliveries every DELIVERY_SWEEP_SECONDS as beat would."""
        start = time.monotonic()
        next_sweep = start + settings.DELIVERY_SWEEP_SECONDS
        while Delivery.objects.filter(status=SENT).count() < count:
            now = time.monotonic()
            if now - start > timeout:
                return None
            if now > next_sweep:
                delivery_services.deliveries_sweep()
                next_sweep = now + settings.DELIVERY_SWEEP_SECONDS
            time.sleep(POLL)
        return time.monotonic() - start

    def writes(self, uids: list[str]) -> figures.WriteCheck:
        return figures.writes_check(self.emulator.admin("GET", "writes"), key=WRITES_KEY,
                                    expected=uids)  # fmt: skip

    def created_times(self) -> dict[str, float]:
        """Booking uid (folded) -> the Lead's CreatedDate (Unix time)."""
        return {
            str(lead["LeadSync_Booking_Id__c"]).casefold(): figures.sf_time(lead["CreatedDate"])
            for lead in self.emulator.admin("GET", "records/Lead")
            if lead.get("LeadSync_Booking_Id__c")
        }


@dataclass
class Drain:
    """A backlog drained by running workers, as measured."""

    count: int
    seconds: float | None  # None: not drained in time
    started_wall: float  # Unix time the workers began consuming
    api_calls: int
    worker_cpu: float  # s, every worker process and its pool
    emulator_cpu: float
    check: figures.WriteCheck

    @property
    def rate(self) -> float:
        return self.count / self.seconds if self.seconds else float("nan")

    @property
    def cpu_ms_per_record(self) -> float:
        return 1000 * self.worker_cpu / max(1, self.check.delivered)

    @property
    def calls_per_booking(self) -> float:
        return self.api_calls / max(1, self.count)


def drain_measure(ctx: Context, workers: list[procs.Worker], uids: list[str]) -> Drain:
    """Let idle `workers` consume the waiting push tasks; measure until every booking of
    `uids` is sent (or the drain timeout passes)."""
    pids = [w.proc.pid for w in workers]
    calls0, cpu0 = ctx.emulator.api_calls(), procs.cpu_seconds(pids)
    emu0 = procs.cpu_seconds([ctx.emulator.proc.pid])
    started_wall = time.time()
    procs.worker_consume(workers)
    seconds = ctx.drain_wait(len(uids), timeout=ctx.opts["drain_timeout"])
    cpu1, emu1 = procs.cpu_seconds(pids), procs.cpu_seconds([ctx.emulator.proc.pid])
    return Drain(
        count=len(uids), seconds=seconds, started_wall=started_wall,
        api_calls=ctx.emulator.api_calls() - calls0, worker_cpu=cpu1 - cpu0,
        emulator_cpu=emu1 - emu0, check=ctx.writes(uids),
    )  # fmt: skip

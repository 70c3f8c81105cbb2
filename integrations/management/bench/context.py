"""One bench run's surroundings: a fresh database, Redis DB, emulator (blank org) and
set of processes per run, production environment for the children, and the drain
measurement every mode shares (time, API calls, worker CPU, write counts)."""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import redis
from django.conf import settings
from django.core.management import call_command
from django.db.models import Count, Q

from integrations.delivery import services as delivery_services
from integrations.management.bench import figures, procs
from integrations.management.bench.data import WRITES_KEY
from integrations.models import Delivery

SENT = Delivery.Status.SENT
OPEN = [Delivery.Status.PENDING, Delivery.Status.SENDING, Delivery.Status.RETRYING]
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

    def workers_start(
        self, processes: int, *, consume: bool, **extra_env: str
    ) -> list[procs.Worker]:
        env = self.env(**extra_env)
        return [
            procs.worker_start(
                self.procs, env, concurrency=self.opts["concurrency"], consume=consume
            )
            for _ in range(processes)
        ]

    # -- draining --------------------------------------------------------------------------

    def drain_wait(self, count: int, *, timeout: float) -> float | None:
        """Seconds until `count` deliveries are sent, or until none is left to send (a
        failed one is then lost in the check); None: neither within `timeout`. Sweeps
        due deliveries every DELIVERY_SWEEP_SECONDS as beat would."""
        start = time.monotonic()
        next_sweep = start + settings.DELIVERY_SWEEP_SECONDS
        while True:
            sent, open_ = _sent_and_open()
            if sent >= count or open_ == 0:
                break
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


def _sent_and_open() -> tuple[int, int]:
    """Deliveries sent, and those still to send (pending, sending or retrying)."""
    counts = Delivery.objects.aggregate(
        sent=Count("pk", filter=Q(status=SENT)), open=Count("pk", filter=Q(status__in=OPEN))
    )
    return counts["sent"], counts["open"]


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
    machine_busy: float = math.nan  # share of all the machine's CPUs busy during the drain
    services_cpu: dict[str, float] = field(default_factory=dict)  # s, e.g. postgres's
    extra: dict = field(default_factory=dict)  # what a mode adds about the run

    @property
    def rate(self) -> float:
        return self.count / self.seconds if self.seconds else float("nan")

    def machine_note(self) -> str:
        """Where the machine's CPU went during the drain, each as a share of all its cores
        for the drain's time (what bounds it when the machine is busy throughout)."""
        if not self.seconds or math.isnan(self.machine_busy):
            return ""
        cores = os.cpu_count() or 1
        capacity = self.seconds * cores
        used = {"workers": self.worker_cpu, **self.services_cpu, "emulator": self.emulator_cpu}
        shares = ", ".join(f"{name} {100 * cpu / capacity:.0f}%" for name, cpu in used.items())
        return f"machine {100 * self.machine_busy:.0f}% busy ({cores} cores): {shares}"

    @property
    def cpu_ms_per_record(self) -> float:
        return 1000 * self.worker_cpu / max(1, self.check.delivered)

    @property
    def calls_per_booking(self) -> float:
        return self.api_calls / max(1, self.count)


def drain_measure(
    ctx: Context,
    workers: list[procs.Worker],
    uids: list[str],
    *,
    check: Callable[[list[str]], figures.WriteCheck] | None = None,
) -> Drain:
    """Let idle `workers` consume the waiting push tasks; measure until every booking of
    `uids` is sent (or the drain timeout passes). `check` says what reached Salesforce
    (default: the emulator's write counts of the Lead key)."""
    pids = [w.proc.pid for w in workers]
    calls0, cpu0 = ctx.emulator.api_calls(), procs.cpu_seconds(pids)
    emu0 = procs.cpu_seconds([ctx.emulator.proc.pid])
    services0, machine0 = procs.services_cpu_seconds(), procs.machine_busy_ticks()
    started_wall = time.time()
    procs.worker_consume(workers)
    seconds = ctx.drain_wait(len(uids), timeout=ctx.opts["drain_timeout"])
    cpu1, emu1 = procs.cpu_seconds(pids), procs.cpu_seconds([ctx.emulator.proc.pid])
    services1, machine1 = procs.services_cpu_seconds(), procs.machine_busy_ticks()
    busy, total = (after - before for after, before in zip(machine1, machine0, strict=True))
    return Drain(
        count=len(uids), seconds=seconds, started_wall=started_wall,
        api_calls=ctx.emulator.api_calls() - calls0, worker_cpu=cpu1 - cpu0,
        emulator_cpu=emu1 - emu0, check=(check or ctx.writes)(uids),
        machine_busy=busy / total if total else math.nan,
        services_cpu={name: services1[name] - services0[name] for name in services1},
    )  # fmt: skip

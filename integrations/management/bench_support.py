"""Parts of `manage.py bench_pipeline` (make bench): its processes, its data, its figures.

Everything runs on loopback: the emulator as its own process (HTTPS, configurable
latency), real `celery worker` processes on a dedicated Redis DB, a real web server
(gunicorn) for the public page, and this process as the HTTP client. Every process is
started in its own group and stopped (TERM, then KILL) when the bench ends.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import re
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests
from django.conf import settings
from django.utils import timezone

from bookings.models import BookingPage, Tenant
from bookings.selectors import page_free_slots
from integrations.models import FieldMapping, SalesforceConnection, SyncTarget

REPO = Path(settings.BASE_DIR)
SEED_TOKEN = "leadsync-bench-seeded-refresh-token"  # noqa: S105 - the emulator's, not a secret
BENCH_SETTINGS = "integrations.management.bench_settings"
PAGE_SLOTS = 250  # bookings per page (a 5-minute page offers ~570 slots in two days)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(predicate: Callable[[], Any], *, timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(Exception):
            value = predicate()
            if value:
                return value
        time.sleep(0.05)
    raise TimeoutError(f"timed out after {timeout}s waiting for {what}")


# -- processes ----------------------------------------------------------------------------------


class Processes:
    """Child processes of one bench run, each in its own process group."""

    def __init__(self, log_dir: Path) -> None:
        self.log_dir = log_dir
        self.children: list[subprocess.Popen] = []

    def start(self, name: str, argv: list[str], env: dict[str, str]) -> subprocess.Popen:
        log = open(self.log_dir / f"{name}.log", "ab")  # noqa: SIM115 - lives with the child
        proc = subprocess.Popen(  # noqa: S603 - our own interpreter and fixed arguments
            argv, cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        proc.log = log
        self.children.append(proc)
        return proc

    def stop(self, proc: subprocess.Popen) -> None:
        if proc.poll() is None:
            proc.terminate()  # the main process: a worker's warm shutdown stops its pool
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=5)
        proc.log.close()
        if proc in self.children:
            self.children.remove(proc)

    def stop_all(self) -> None:
        for proc in list(reversed(self.children)):
            self.stop(proc)


@dataclass
class Emulator:
    proc: subprocess.Popen
    base_url: str
    ca_path: str

    def admin(self, method: str, path: str, body: Any = None) -> Any:
        response = requests.request(
            method, f"{self.base_url}/__emulator__/{path}", json=body, verify=self.ca_path,
            timeout=60,
        )  # fmt: skip
        response.raise_for_status()
        return response.json()


def emulator_start(procs: Processes, *, latency_ms: int, tls_dir: Path) -> Emulator:
    port = free_port()
    config = procs.log_dir / "emulator.json"
    config.write_text(f'{{"faults": {{"latency_ms": {latency_ms}, "daily_api_limit": 10000000}}}}')
    proc = procs.start(
        "emulator",
        [sys.executable, "-m", "integrations.salesforce.emulator", "--host", "127.0.0.1",
         "--port", str(port), "--tls-dir", str(tls_dir), "--seed-refresh-token", SEED_TOKEN,
         "--config", str(config)],
        dict(os.environ),
    )  # fmt: skip
    emulator = Emulator(proc, f"https://127.0.0.1:{port}", str(tls_dir / "ca.pem"))
    wait_for(lambda: emulator.admin("GET", "state"), timeout=30, what="the emulator")
    return emulator


def child_env(emulator: Emulator, **extra: str) -> dict[str, str]:
    """The environment of a worker / web process: this bench's database and Redis, the
    emulator's CA, and the bench's delivery settings."""
    db = settings.DATABASES["default"]
    database_url = (
        f"postgres://{db['USER'] or 'postgres'}@{db['HOST'] or '127.0.0.1'}:"
        f"{db['PORT'] or 5432}/{db['NAME']}"
    )
    return {
        **os.environ,
        "DATABASE_URL": database_url,
        "REDIS_URL": settings.REDIS_URL,
        "SALESFORCE_CA_BUNDLE": emulator.ca_path,
        "DJANGO_LOG_LEVEL": "WARNING",
        **extra,
    }


def worker_start(procs: Processes, env: dict[str, str], *, concurrency: int) -> str:
    """A `celery worker` process; returns its name once it answers ping."""
    from leadsync.celery import app

    name = f"bench-{uuid.uuid4().hex[:6]}@localhost"
    procs.start(
        "worker",
        [sys.executable, "-m", "celery", "-A", "leadsync", "worker", "--loglevel", "WARNING",
         "--concurrency", str(concurrency), "--hostname", name, "--without-mingle",
         "--without-gossip", "--without-heartbeat"],
        env,
    )  # fmt: skip
    wait_for(lambda: app.control.ping(destination=[name], timeout=0.5), timeout=60, what=name)
    return name


def web_start(procs: Processes, env: dict[str, str], *, workers: int = 2) -> str:
    """gunicorn serving the project (rate limits off: one client IP sends every booking)."""
    port = free_port()
    procs.start(
        "web",
        [sys.executable, "-m", "gunicorn", "leadsync.wsgi", "--bind", f"127.0.0.1:{port}",
         "--workers", str(workers), "--threads", "4", "--log-level", "warning"],
        {**env, "DJANGO_SETTINGS_MODULE": BENCH_SETTINGS},
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    wait_for(lambda: requests.get(base + "/admin/login/", timeout=2).ok, timeout=60, what="web")
    return base


# -- data -----------------------------------------------------------------------------------------


def tenant_setup(emulator: Emulator, *, slug: str, pages: int) -> list[BookingPage]:
    """A tenant connected to the emulator with `pages` pages posting Leads (upsert by
    LeadSync_Booking_Id__c), 5-minute slots all day, no notice."""
    tenant = Tenant.objects.create(slug=slug, name=f"Bench {slug}", timezone="UTC")
    host = emulator.base_url.removeprefix("https://")
    connection = SalesforceConnection(
        tenant=tenant, status=SalesforceConnection.Status.CONNECTED, login_host=host,
        instance_url=emulator.base_url, api_version="59.0", connected_at=timezone.now(),
    )  # fmt: skip
    connection.refresh_token = SEED_TOKEN
    connection.save()
    result = []
    for index in range(pages):
        page = BookingPage.objects.create(
            tenant=tenant, slug=f"p{index}", title=f"Bench {index}", duration_minutes=5,
            timezone="UTC", weekdays=list(range(7)), day_start=dt.time(0, 0),
            day_end=dt.time(23, 55), horizon_days=2, min_notice_minutes=0,
        )  # fmt: skip
        page.questions.create(key="company", label="Company", kind="text", required=True)
        target = SyncTarget.objects.create(
            page=page, sobject="Lead", enabled=True, key_field="LeadSync_Booking_Id__c"
        )
        Kind = FieldMapping.SourceKind
        for sf_field, kind, key, constant in [
            ("Company", Kind.QUESTION, "company", ""),
            ("LastName", Kind.BOOKING, "guest_last_name", ""),
            ("Email", Kind.BOOKING, "guest_email", ""),
            ("LeadSource", Kind.URL_PARAM, "", ""),
            ("Region__c", Kind.CONSTANT, "", "EMEA"),
        ]:
            target.mappings.create(
                sf_field=sf_field, source_kind=kind, source_key=key, constant_value=constant
            )
        result.append(page)
    return result


def slots_for(pages: list[BookingPage], count: int) -> Iterator[tuple[BookingPage, dt.datetime]]:
    """`count` distinct bookable (page, slot) pairs, PAGE_SLOTS per page at most."""
    given = 0
    for page in pages:
        for slot in page_free_slots(page)[1 : PAGE_SLOTS + 1]:  # skip the one about to pass
            if given == count:
                return
            yield page, slot
            given += 1
    if given < count:
        raise ValueError(f"only {given} slots for {count} bookings: add pages")


# -- figures --------------------------------------------------------------------------------------


def parse_sf_time(value: str) -> float:
    return dt.datetime.strptime(value, "%Y-%m-%dT%H:%M:%S.%f%z").timestamp()


def percentile(values: list[float], share: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


@dataclass
class Figures:
    mode: str
    batching: bool
    bookings: int
    seconds: float
    api_calls: int
    duplicates: int
    lost: int
    p50: float | None = None
    p99: float | None = None

    @property
    def per_second(self) -> float:
        return self.bookings / self.seconds if self.seconds else float("nan")

    @property
    def calls_per_booking(self) -> float:
        return self.api_calls / self.bookings

    def row(self) -> str:
        latency = (
            f"{self.p50 * 1000:7.0f} {self.p99 * 1000:7.0f}" if self.p50 is not None else
            f"{'—':>7} {'—':>7}"
        )  # fmt: skip
        return (
            f"{self.mode:<10} {'on' if self.batching else 'off':<8} {self.bookings:>8} "
            f"{self.seconds:>8.1f} {self.per_second:>8.0f} {self.calls_per_booking:>10.4f} "
            f"{latency} {self.duplicates:>5} {self.lost:>5}"
        )


HEADER = (
    f"{'mode':<10} {'batching':<8} {'bookings':>8} {'seconds':>8} {'per s':>8} "
    f"{'calls/bkg':>10} {'p50 ms':>7} {'p99 ms':>7} {'dupes':>5} {'lost':>5}"
)


def outcome_count(emulator: Emulator, uids: set[str]) -> tuple[int, int, dict[str, float]]:
    """(duplicates, lost, created time per booking uid) from the emulator's Leads."""
    leads = emulator.admin("GET", "records/Lead")
    keys = [lead.get("LeadSync_Booking_Id__c") for lead in leads]
    created = {
        lead["LeadSync_Booking_Id__c"]: parse_sf_time(lead["CreatedDate"])
        for lead in leads
        if lead.get("LeadSync_Booking_Id__c")
    }
    duplicates = len(keys) - len(set(keys))
    lost = len(uids - set(created))
    return duplicates, lost, created


def api_calls(emulator: Emulator) -> int:
    return sum(emulator.admin("GET", "state")["api_calls"].values())


UID_IN_LOCATION = re.compile(r"/booked/([0-9a-f-]{36})/")

"""One scenario's rig: the bench's processes (emulator with a blank org, gunicorn, celery
workers, all with production settings) plus celery beat, one tenant whose pages post
Leads by booking id, guests submitting through gunicorn (form and API alternately), and
what the run left behind: answers, deliveries, the emulator's records and write counts.

The driver (this process) never sweeps or pushes itself: beat and the workers do, as in
production. It only submits, breaks things, watches the database, and reconnects
Salesforce the way staff would (the OAuth flow, against the emulator)."""

from __future__ import annotations

import contextlib
import html
import re
import sys
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests
from django.conf import settings
from django.db import DatabaseError, connections

from bookings.models import Booking
from integrations.connection import services as connection_services
from integrations.management.bench import data, load, procs
from integrations.management.bench.context import Context
from integrations.management.chaos import figures
from integrations.models import Delivery, SalesforceConnection, SyncTarget
from integrations.salesforce import oauth

API_KEYS = 16  # the API allows 120 bookings a minute per key
POLL = 0.1  # s between looks at the database


class ChaosContext(Context):
    """The bench's Context with a log directory per scenario and one static-files
    directory for the whole run (collected once)."""

    def __init__(self, opts: dict[str, Any], var: Path) -> None:
        super().__init__(opts, var)
        self.run_var = var

    def scenario_dir(self, name: str) -> None:
        self.var = self.run_var / name
        self.var.mkdir(parents=True, exist_ok=True)

    def env(self, **extra: str) -> dict[str, str]:
        return procs.production_env(
            self.emulator, self.secrets, var_dir=self.run_var / "var", **extra
        )


@dataclass
class Answered:
    index: int
    status: str  # the HTTP status, or the exception's name when there was no answer
    uid: str | None  # the accepted booking's uid
    at: float  # monotonic time of the answer
    seconds: float = 0.0  # how long the answer took


class Intake:
    """Guests submitting `count` bookings at `rate` per second through gunicorn, from a
    few threads, in the background: even indexes on the public page (form + CSRF cookie,
    302 expected), odd ones on the API (Bearer key, 201 expected). A request is never
    retried (a resent POST would be a second booking the runner caused itself)."""

    def __init__(self, rig: Rig, *, count: int, rate: float, clients: int = 6) -> None:
        self.rig, self.count, self.rate = rig, count, rate
        self.answered: list[Answered] = []
        self._lock = threading.Lock()
        self._next = 0
        self._clients = [load.Client(rig.base) for _ in range(clients)]
        for n, client in enumerate(self._clients):
            client.csrf_fetch(rig.slots[0][0], ip=load.client_ip(300_000 + n))
        self._threads = [
            threading.Thread(target=self._run, args=(c,), daemon=True) for c in self._clients
        ]
        self.started = self.finished = 0.0

    def start(self) -> Intake:
        self.started = time.monotonic()
        for thread in self._threads:
            thread.start()
        return self

    def elapsed(self) -> float:
        return time.monotonic() - self.started

    @property
    def span(self) -> float:
        """Seconds the submissions are spread over."""
        return self.count / self.rate

    def sleep_until(self, share: float) -> None:
        """Sleep until `share` (0..1) of the submissions' span has passed."""
        time.sleep(max(0.0, self.started + share * self.span - time.monotonic()))

    def wait(self, timeout: float = 600) -> list[Answered]:
        for thread in self._threads:
            thread.join(timeout=max(0.0, self.started + timeout - time.monotonic()))
        for client in self._clients:
            client.close()
        self.finished = max((a.at for a in self.answered), default=time.monotonic())
        return sorted(self.answered, key=lambda a: a.index)

    def _run(self, client: load.Client) -> None:
        while True:
            with self._lock:
                index, self._next = self._next, self._next + 1
            if index >= self.count:
                return
            delay = self.started + index / self.rate - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            sent = time.monotonic()
            try:
                answer = self._submit(client, index)
                status, uid = str(answer.status), load.accepted_uid(answer)
            except Exception as exc:  # refused, reset, timed out: no answer
                status, uid = type(exc).__name__, None
            with self._lock:
                now = time.monotonic()
                self.answered.append(Answered(index, status, uid, now, now - sent))

    def _submit(self, client: load.Client, index: int) -> load.Answer:
        path, slot = self.rig.slots[index]
        if index % 2 == 0:
            return client.form_post(
                path + "?LeadSource=Web", load.form_fields(slot, index, "Chaos"),
                ip=load.client_ip(100_000 + index),
            )  # fmt: skip
        keys = self.rig.api_keys
        headers = {"Authorization": f"Bearer {keys[index % len(keys)]}",
                   "Content-Type": "application/json"}  # fmt: skip
        return client.request(
            "POST", f"/api/v1{path}bookings", ip=load.client_ip(200_000 + index),
            body=load.api_body(slot, index, "Chaos"), headers=headers,
        )  # fmt: skip


class Rig:
    """The processes and data of one scenario. `begin` starts them, `end` stops them."""

    def __init__(self, ctx: ChaosContext, name: str) -> None:
        self.ctx, self.name = ctx, name
        self.opts = ctx.opts
        self.workers: list[procs.Worker] = []
        self.beat = None
        self.base = ""
        self.slots: list[tuple[str, str]] = []
        self.api_keys: list[str] = []
        self.connection_id = 0
        self.worker_env: dict[str, str] = {}

    @property
    def emulator(self) -> procs.Emulator:
        return self.ctx.emulator

    # -- processes and data ------------------------------------------------------------------

    def begin(self, *, bookings: int, env: dict[str, str] | None = None) -> None:
        """Empty database and Redis DB, a fresh emulator (blank org), one tenant with
        enough pages for `bookings`, gunicorn and beat. Workers are started by
        `workers_start`. `env` adds settings to every child (web, workers, beat)."""
        self.ctx.scenario_dir(self.name)
        self.ctx.begin()
        # Just connected (no access token yet): the token scenarios count the refreshes.
        pages = data.tenant_setup(
            self.emulator, slug="chaos", pages=data.pages_needed(bookings), configured=False
        )
        # The plain record push: a new Lead per booking, upserted by the booking id; no
        # guest lookup, Event or owner (issue 16's runner; people have their own tests).
        SyncTarget.objects.filter(page__in=pages).update(
            person_match=SyncTarget.PersonMatch.ALWAYS_CREATE,
            event_enabled=False,
            owner_policy=SyncTarget.OwnerPolicy.LEAVE,
        )
        self.connection_id = SalesforceConnection.objects.get(tenant=pages[0].tenant).pk
        self.api_keys = data.api_keys_create(pages[0].tenant, API_KEYS)
        self.slots = [(s.path, s.starts_at.isoformat()) for s in data.slots_for(pages, bookings)]
        self.worker_env = self.ctx.env(**{**self.opts.get("env", {}), **(env or {})})
        self.base = procs.web_start(self.ctx.procs, self.worker_env, workers=2, threads=4)
        self.beat = self.ctx.procs.start(
            "beat",
            [sys.executable, "-m", "celery", "-A", "leadsync", "beat", "--loglevel", "WARNING",
             "--schedule", str(self.ctx.var / f"celerybeat-schedule-{uuid.uuid4().hex[:6]}")],
            self.worker_env,
        )  # fmt: skip

    def workers_start(self, count: int, *, consume: bool = True) -> list[procs.Worker]:
        concurrency = self.opts["concurrency"]
        started = [
            procs.worker_start(
                self.ctx.procs, self.worker_env, concurrency=concurrency, consume=consume
            )
            for _ in range(count)
        ]
        self.workers += started
        return started

    def end(self) -> None:
        self.ctx.end()

    def intake(self, *, count: int | None = None, rate: float | None = None) -> Intake:
        count = len(self.slots) if count is None else count
        return Intake(self, count=count, rate=rate or self.opts["rate"]).start()

    def faults(self, **switches: Any) -> dict:
        return self.emulator.admin("POST", "faults", switches)

    # -- watching the database (which may be down) ---------------------------------------------

    def query(self, read: Callable[[], Any], default: Any = None) -> Any:
        """`read()`, or `default` while the database cannot be reached."""
        try:
            return read()
        except DatabaseError:
            connections.close_all()
            return default

    def wait(self, predicate: Callable[[], Any], *, timeout: float, what: str) -> float:
        """Seconds until `predicate()` holds (database errors count as "not yet");
        TimeoutError after `timeout`."""
        began = time.monotonic()
        while time.monotonic() - began < timeout:
            if self.query(predicate, default=False):
                return time.monotonic() - began
            time.sleep(POLL)
        raise TimeoutError(f"{self.name}: no {what} within {timeout:.0f}s")

    def statuses(self) -> dict[str, int]:
        rows = Delivery.objects.values_list("status", flat=True)
        return figures.answers_count(rows)

    def settle(self, uids: list[str], *, since: float) -> float | None:
        """Seconds from `since` (monotonic) until every accepted booking is saved and each
        of its deliveries is final; None when that takes longer than --settle-timeout."""
        deadline = since + self.opts["settle_timeout"]

        def settled() -> bool:
            if Booking.objects.filter(uid__in=uids).count() < len(uids):
                return False
            statuses = list(
                Delivery.objects.filter(booking__uid__in=uids).values_list("status", flat=True)
            )
            return len(statuses) >= len(uids) and figures.non_final(statuses) == 0

        while time.monotonic() < deadline:
            if self.query(settled, default=False):
                return time.monotonic() - since
            time.sleep(POLL)
        return None

    # -- reconnecting, as staff would ----------------------------------------------------------

    def reconnect(self) -> None:
        """The OAuth web server flow against the emulator (consent page, Allow, code
        exchange), then the connection's own service, whose `connection_reconnected`
        releases held deliveries. This process is told the emulator's Connected App
        the way the children are (their environment)."""
        emulator = self.emulator
        host = emulator.base_url.removeprefix("https://")
        settings.SALESFORCE_CONSUMER_KEY = emulator.client_id
        settings.SALESFORCE_CONSUMER_SECRET = emulator.client_secret
        settings.SALESFORCE_CA_BUNDLE = emulator.ca_path
        settings.SALESFORCE_EXTRA_LOGIN_HOSTS = [host]
        settings.SITE_URL = "https://127.0.0.1"
        emulator.admin("POST", "connected-app", {"callback_urls": [oauth.callback_url()]})
        start = oauth.authorization_start(login_host=host)
        browser = requests.Session()  # verify= per call: REQUESTS_CA_BUNDLE beats .verify
        page = browser.get(start.url, verify=emulator.ca_path, timeout=30)
        page.raise_for_status()
        hidden = re.findall(r'type="hidden" name="([^"]+)" value="([^"]*)"', page.text)
        form = {name: html.unescape(value) for name, value in hidden}
        form["action"] = "allow"
        answer = browser.post(
            f"{emulator.base_url}/services/oauth2/authorize", data=form, allow_redirects=False,
            verify=emulator.ca_path, timeout=30,
        )  # fmt: skip
        if answer.status_code != 302:
            raise RuntimeError(f"consent refused: {answer.status_code} {answer.text[:200]}")
        grant = oauth.authorization_complete(
            login_host=host, callback_full_url=answer.headers["Location"], state=start.state,
            code_verifier=start.code_verifier,
        )  # fmt: skip
        connection = SalesforceConnection.objects.get(pk=self.connection_id)
        connection_services.connection_complete_oauth(
            connection=connection, login_host=host, grant=grant
        )

    # -- what the run left behind -------------------------------------------------------------

    def result(
        self, answered: list[Answered], *, settle: float | None, notes: list[str] | None = None,
        checks: dict[str, bool] | None = None, extra: dict | None = None,
    ) -> figures.Result:  # fmt: skip
        uids = [a.uid for a in answered if a.uid]
        check = self.ctx.writes(uids)
        records = self.emulator.admin("GET", "records/Lead")
        deliveries = list(
            Delivery.objects.filter(booking__uid__in=uids).values_list("status", "retries")
        )
        statuses = [status for status, _ in deliveries]
        notes = list(notes or [])
        unaccepted = Booking.objects.exclude(uid__in=uids).count()
        if unaccepted:
            notes.append(f"{unaccepted} bookings saved without a 302/201 answer")
        created_twice = [
            row for row in self.emulator.admin("GET", "writes").get("created_more_than_once", [])
            if f"{row['object']}.{row['field']}" == data.WRITES_KEY
        ]  # fmt: skip
        if check.unexpected:
            notes.append(f"{len(check.unexpected)} records of bookings never accepted")
        return figures.Result(
            scenario=self.name, attempted=len(answered), accepted=len(uids),
            answers=figures.answers_count(a.status for a in answered),
            in_salesforce=len(records), duplicates=len(check.duplicates),
            duplicate_records=len(created_twice), lost=len(check.lost),
            non_final=figures.non_final(statuses),
            failed=sum(1 for s in statuses if s == Delivery.Status.FAILED),
            settle_seconds=settle, max_retries=max((r for _, r in deliveries), default=0),
            notes=notes, checks=checks or {},
            extra={"statuses": figures.answers_count(statuses), "lost": check.lost[:20],
                   "duplicates": check.duplicates[:20], **(extra or {})},
        )  # fmt: skip


@contextlib.contextmanager
def rig_for(ctx: ChaosContext, name: str):
    rig = Rig(ctx, name)
    try:
        yield rig
    finally:
        rig.end()

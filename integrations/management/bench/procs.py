"""The bench's processes: the emulator (blank org), `celery worker`s and gunicorn, each
in its own process group, all on loopback, run with production settings (DJANGO_DEBUG
false, secrets generated for the run and never printed), and stopped when the run ends."""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests
from cryptography.fernet import Fernet
from django.conf import settings

from integrations.management.bench import figures

REPO = Path(settings.BASE_DIR)
SEED_TOKEN = "leadsync-bench-seeded-refresh-token"  # noqa: S105 - the emulator's, not a secret
STOP_SECONDS = 20


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
        """TERM the main process (a worker's warm shutdown stops its own pool; TERM to
        the pool children would lose their tasks), KILL its group if it lingers."""
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=STOP_SECONDS)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=5)
        with contextlib.suppress(ProcessLookupError):  # pool children left behind
            os.killpg(proc.pid, signal.SIGKILL)
        proc.log.close()
        if proc in self.children:
            self.children.remove(proc)

    def stop_all(self) -> None:
        for proc in list(reversed(self.children)):
            self.stop(proc)


def cpu_seconds(pids: Iterable[int]) -> float:
    """CPU seconds (user + system) used so far by `pids` and all their descendants."""
    return figures.tree_ticks(_proc_stats(), pids) / os.sysconf("SC_CLK_TCK")


#: The servers the bench shares the machine with: label -> process name.
SERVICES = {"postgres": "postgres", "redis": "redis-server"}


def services_cpu_seconds() -> dict[str, float]:
    """CPU seconds used so far by each of SERVICES, every process of it (its main
    process's tree, exited backends included)."""
    stats = _proc_stats()
    return {
        label: figures.tree_ticks(stats, figures.roots_named(stats, comm))
        / os.sysconf("SC_CLK_TCK")
        for label, comm in SERVICES.items()
    }


def machine_busy_ticks() -> tuple[int, int]:
    """(busy, total) clock ticks of all CPUs so far."""
    return figures.machine_ticks(Path("/proc/stat").read_text().splitlines()[0])


def _proc_stats() -> list[figures.ProcStat]:
    stats = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError, ValueError, IndexError):
                stats.append(figures.proc_stat_parse((entry / "stat").read_text()))
    return stats


@dataclass
class Emulator:
    proc: subprocess.Popen
    base_url: str
    ca_path: str
    client_id: str
    client_secret: str

    def admin(self, method: str, path: str, body: Any = None) -> Any:
        response = requests.request(
            method, f"{self.base_url}/__emulator__/{path}", json=body, verify=self.ca_path,
            timeout=300,
        )  # fmt: skip
        response.raise_for_status()
        return response.json()

    def api_calls(self) -> int:
        return sum(self.admin("GET", "state")["api_calls"].values())


def emulator_start(procs: Processes, *, latency_ms: int, tls_dir: Path) -> Emulator:
    """The emulator as its own process, serving a BLANK org: no seeded people, duplicate
    or assignment rules, so every write is the bench's own and nothing else is matched."""
    port = free_port()
    client_id, client_secret = f"bench-{uuid.uuid4().hex}", secrets.token_urlsafe(32)
    config = procs.log_dir / "emulator.json"
    config.write_text(
        json.dumps({
            "faults": {"latency_ms": latency_ms, "daily_api_limit": 100_000_000},
            "client_id": client_id, "client_secret": client_secret,
        })
    )  # fmt: skip
    config.chmod(0o600)
    proc = procs.start(
        "emulator",
        [sys.executable, "-m", "integrations.salesforce.emulator", "--host", "127.0.0.1",
         "--port", str(port), "--tls-dir", str(tls_dir), "--seed-refresh-token", SEED_TOKEN,
         "--config", str(config), "--org", "blank"],
        dict(os.environ),
    )  # fmt: skip
    emulator = Emulator(
        proc, f"https://127.0.0.1:{port}", str(tls_dir / "ca.pem"), client_id, client_secret
    )
    wait_for(lambda: emulator.admin("GET", "state"), timeout=30, what="the emulator")
    config.unlink()  # it held the run's Connected App secret; the emulator has read it
    return emulator


@dataclass(frozen=True)
class Secrets:
    """A run's production secrets: generated here, handed to the children in their
    environment, never printed or written down."""

    secret_key: str
    encryption_key: str

    @classmethod
    def generate(cls) -> Secrets:
        return cls(secrets.token_urlsafe(50), Fernet.generate_key().decode())


def production_env(
    emulator: Emulator, run_secrets: Secrets, *, var_dir: Path, **extra: str
) -> dict[str, str]:
    """The environment of a web or worker process: production settings (DJANGO_DEBUG
    false), this bench's database and Redis DB, the emulator's CA and Connected App.

    The bench stands where the TLS proxy of a deployment stands
    (LEADSYNC_TRUSTED_PROXY_COUNT=1): it sends X-Forwarded-Proto and X-Forwarded-For,
    so secure cookies, CSRF's Referer check and the per-client rate limits all run."""
    db = settings.DATABASES["default"]
    database_url = (
        f"postgres://{db['USER'] or 'postgres'}@{db['HOST'] or '127.0.0.1'}:"
        f"{db['PORT'] or 5432}/{db['NAME']}"
    )
    keep = ("PATH", "HOME", "LANG", "LC_ALL", "TZ", "VIRTUAL_ENV", "PYTHONPATH")
    return {
        **{name: os.environ[name] for name in keep if name in os.environ},
        "DJANGO_SETTINGS_MODULE": "leadsync.settings",
        "DJANGO_DEBUG": "false",
        "DJANGO_SECRET_KEY": run_secrets.secret_key,
        "FIELD_ENCRYPTION_KEYS": run_secrets.encryption_key,
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
        "EMAIL_URL": "consolemail://",  # guest mails go to the process log, not a network
        "LEADSYNC_TRUSTED_PROXY_COUNT": "1",
        "LEADSYNC_VAR_DIR": str(var_dir),
        "LEADSYNC_SITE_URL": "https://127.0.0.1",
        "DATABASE_URL": database_url,
        "REDIS_URL": settings.REDIS_URL,
        "SALESFORCE_CA_BUNDLE": emulator.ca_path,
        "SALESFORCE_EXTRA_LOGIN_HOSTS": emulator.base_url.removeprefix("https://"),
        "SALESFORCE_CONSUMER_KEY": emulator.client_id,
        "SALESFORCE_CONSUMER_SECRET": emulator.client_secret,
        "DJANGO_LOG_LEVEL": "WARNING",
        **extra,
    }


def collectstatic(env: dict[str, str]) -> None:
    """Production serves hashed static files (whitenoise's manifest): collect them once."""
    subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--noinput", "-v", "0"],
        cwd=REPO, env=env, check=True, capture_output=True,
    )  # fmt: skip


@dataclass
class Worker:
    proc: subprocess.Popen
    name: str


def worker_start(
    procs: Processes, env: dict[str, str], *, concurrency: int, consume: bool = True
) -> Worker:
    """A `celery worker` process (prefork, `concurrency` children); returns once it
    answers ping. With consume=False it starts without consuming the task queue (a
    backlog builds; `worker_consume` starts the drain)."""
    from leadsync.celery import app

    name = f"bench-{uuid.uuid4().hex[:6]}@localhost"
    argv = [
        sys.executable, "-m", "celery", "-A", "leadsync", "worker", "--loglevel", "WARNING",
        "--concurrency", str(concurrency), "--hostname", name, "--without-mingle",
        "--without-gossip", "--without-heartbeat",
    ]  # fmt: skip
    if not consume:
        argv += ["--queues", f"bench-idle-{uuid.uuid4().hex[:6]}"]
    proc = procs.start(f"worker-{len(procs.children)}", argv, env)
    wait_for(lambda: app.control.ping(destination=[name], timeout=0.5), timeout=90, what=name)
    return Worker(proc, name)


def worker_consume(workers: list[Worker]) -> None:
    """Start consuming the default queue on every worker."""
    from leadsync.celery import app

    queue = app.conf.task_default_queue
    app.control.add_consumer(queue, destination=[w.name for w in workers], reply=True)


#: The deployment's gunicorn configuration (docker-compose's web service uses it too).
GUNICORN_CONF = REPO / "leadsync" / "gunicorn.conf.py"


def web_start(procs: Processes, env: dict[str, str], *, workers: int, threads: int) -> str:
    """gunicorn serving the project with production settings and the deployment's
    configuration (leadsync/gunicorn.conf.py); returns its base URL."""
    port = free_port()
    procs.start(
        "web",
        [sys.executable, "-m", "gunicorn", "leadsync.wsgi", "-c", str(GUNICORN_CONF),
         "--bind", f"127.0.0.1:{port}", "--workers", str(workers), "--threads", str(threads),
         "--log-level", "warning"],
        env,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    headers = {"X-Forwarded-Proto": "https", "X-Forwarded-For": "10.0.0.1"}
    wait_for(
        lambda: requests.get(base + "/accounts/login/", headers=headers, timeout=2).ok,
        timeout=60, what="gunicorn",
    )  # fmt: skip
    return base

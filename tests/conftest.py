"""Shared fixtures: tenants and their staff, real services (Redis, a Celery worker)."""

import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
import redis
from django.db import connection

from bookings.models import Membership
from tests.factories import MembershipFactory, TenantFactory, UserFactory

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture
def tenant_a():
    return TenantFactory(slug="acme", name="Acme")


@pytest.fixture
def tenant_b():
    return TenantFactory(slug="globex", name="Globex")


@pytest.fixture
def admin_a(tenant_a):
    """A staff user who administers tenant A only."""
    return MembershipFactory(tenant=tenant_a, role=Membership.Role.ADMIN).user


@pytest.fixture
def member_a(tenant_a):
    return MembershipFactory(tenant=tenant_a, role=Membership.Role.MEMBER).user


@pytest.fixture
def admin_b(tenant_b):
    return MembershipFactory(tenant=tenant_b, role=Membership.Role.ADMIN).user


@pytest.fixture
def superuser():
    return UserFactory(is_superuser=True)


@pytest.fixture
def client_for(client):
    """client_for(user) -> the test client, logged in as `user`."""

    def login(user):
        client.force_login(user, backend="django.contrib.auth.backends.ModelBackend")
        return client

    return login


def require_env(name: str) -> str:
    """Real-service tests need their service: fail loudly rather than skip silently."""
    value = os.environ.get(name)
    if not value:
        pytest.fail(f"{name} is not set: run the suite with `make test` (real PostgreSQL/Redis).")
    return value


@pytest.fixture(scope="session")
def redis_url() -> str:
    url = require_env("REDIS_URL")
    import redis

    redis.Redis.from_url(url).flushdb()  # no stale queue messages from an earlier run
    return url


def database_url_for_subprocess() -> str:
    """A DATABASE_URL for child processes that points at this session's test database."""
    s = connection.settings_dict
    if connection.vendor != "postgresql":
        pytest.fail("Worker tests need PostgreSQL: run the suite with `make test`.")
    user = s["USER"] or "postgres"
    return f"postgres://{user}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"


def wait_until(predicate, *, timeout: float, interval: float = 0.1, message: str = "condition"):
    """Poll `predicate` until it returns a truthy value; fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    pytest.fail(f"timed out after {timeout}s waiting for {message}")


def worker_start(
    *, log_path: Path, env: dict[str, str] | None = None, queue: str = "", concurrency: int = 2
) -> subprocess.Popen:
    """A real `celery worker` subprocess on this session's test database and Redis (on
    `queue` when given), answering ping; its own process group, so a test may SIGKILL the
    whole worker. `env` adds settings. Fails the test when it exits early."""
    from leadsync.celery import app

    env = {
        **os.environ,
        "DATABASE_URL": database_url_for_subprocess(),
        "REDIS_URL": os.environ["REDIS_URL"],
        **(env or {}),
    }
    name = f"test-{uuid.uuid4().hex[:8]}@localhost"
    queues = ["-Q", queue] if queue else []
    with open(log_path, "wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "leadsync", "worker", "--loglevel", "INFO",
             "--concurrency", str(concurrency), "--hostname", name, *queues,
             "--without-mingle", "--without-gossip", "--without-heartbeat"],
            cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
    wait_until(
        lambda: proc.poll() is not None or app.control.ping(destination=[name], timeout=0.5),
        timeout=60,
        message="the Celery worker to answer ping",
    )
    if proc.poll() is not None:
        pytest.fail(f"Celery worker exited early:\n{log_path.read_text()}")
    proc.log_path = log_path
    return proc


def worker_stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


@pytest.fixture(scope="session")
def celery_worker_process(django_db_setup, django_db_blocker, redis_url, tmp_path_factory):
    """A real `celery worker` process on real Redis, using this session's test database."""
    log = tmp_path_factory.mktemp("worker") / "worker.log"
    with django_db_blocker.unblock():
        proc = worker_start(log_path=log)
    yield proc
    worker_stop(proc)


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    """Users made by tests get cheap hashes (tests/hashers.py); any other stored hash
    still verifies with the production hashers after it."""
    settings.PASSWORD_HASHERS = [
        "tests.hashers.OneIterationPBKDF2PasswordHasher",
        *settings.PASSWORD_HASHERS,
    ]


@pytest.fixture(autouse=True)
def isolated_cache(settings):
    """A fresh in-process default cache per test, so rate-limit counters never leak between
    tests. (The real cache is Redis, which also carries the Celery queue: never flush it per
    test.) The "coordination" cache stays the real one: workers clear its markers there."""
    settings.CACHES = {
        **settings.CACHES,
        "default": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "LOCATION": uuid.uuid4().hex,
        },
    }
    _coordination_markers_clear()
    from leadsync import enqueue

    enqueue._broker_down_until = 0.0  # a broker outage a test faked is over for the next
    from bookings import page_cache

    page_cache._cache_down_until = 0.0  # likewise a cache outage
    page_cache._rows.clear()  # pages kept by an earlier test (ids start again)
    page_cache._keys.clear()  # and API keys
    page_cache._version_keys.clear()  # and the names of pages' versions
    from integrations.mappings import services as mapping_services

    mapping_services._KEPT.clear()  # describes kept by an earlier test (ids start again)


def _coordination_markers_clear() -> None:
    """Forget "push queued" markers left by an earlier test or run: the test database
    starts its ids at 1 again, so an old marker would swallow a new connection's push.
    Only the coordination keys go (the same Redis DB carries the Celery queue)."""
    from django.conf import settings as live

    config = live.CACHES["coordination"]
    if not config["BACKEND"].endswith("RedisCache"):
        return
    redis_keys_delete(config["LOCATION"], f"{config.get('KEY_PREFIX', '')}:*")


def redis_keys_delete(url: str, pattern: str) -> None:
    """Delete the keys matching `pattern` (never the whole DB: it carries the Celery queue)."""
    client = redis.Redis.from_url(url)
    keys = list(client.scan_iter(match=pattern, count=1000))
    if keys:
        client.delete(*keys)


@pytest.fixture
def redis_default_cache(settings, redis_url):
    """The default cache on the real Redis as deployed (the coordination cache's server and
    options), under keys of this test's own, removed after it."""
    prefix = f"test-default-{uuid.uuid4().hex}"
    settings.CACHES = {
        **settings.CACHES,
        "default": {**settings.CACHES["coordination"], "KEY_PREFIX": prefix},
    }
    yield
    redis_keys_delete(redis_url, f"{prefix}:*")


@pytest.fixture
def redis_round_trips(monkeypatch):
    """Every packed send to any Redis server from now on, one per round trip (a pipeline
    is one), as (in a database transaction?, the bytes sent). A connection's first send
    is its handshake: connect before counting."""
    from django.db import transaction

    sent = []
    real = redis.connection.AbstractConnection.send_packed_command

    def send(self, command, check_health=True):
        sent.append((transaction.get_connection().in_atomic_block, command))
        return real(self, command, check_health)

    monkeypatch.setattr(redis.connection.AbstractConnection, "send_packed_command", send)
    return sent


# -- the delivery pipeline: a worker that reaches the emulator ---------------------------------

PIPELINE_QUEUE = "pipeline-tests"
#: Settings of the pipeline worker process: short timeouts and retry delays so a test of a
#: retry or a lost worker takes seconds (production defaults are in leadsync/settings.py).
PIPELINE_WORKER_SETTINGS = {
    "SALESFORCE_TIMEOUT": "3",
    "DELIVERY_LEASE_SECONDS": "2",
    "DELIVERY_RETRY_DELAYS": "0.3,0.3,0.3,0.3",
    "DELIVERY_API_PAUSE_SECONDS": "900",
}


def pipeline_worker_start(server, *, queue: str, log_path: Path, concurrency: int = 2):
    """A worker on `queue` whose settings reach the emulator `server` (its CA, its
    Connected App)."""
    from integrations.salesforce.emulator import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET

    env = {
        **PIPELINE_WORKER_SETTINGS,
        "SALESFORCE_CA_BUNDLE": server.ca_path,
        "SALESFORCE_CONSUMER_KEY": DEFAULT_CLIENT_ID,
        "SALESFORCE_CONSUMER_SECRET": DEFAULT_CLIENT_SECRET,
    }
    return worker_start(log_path=log_path, env=env, queue=queue, concurrency=concurrency)


@pytest.fixture(scope="session")
def pipeline_worker(
    django_db_setup, django_db_blocker, redis_url, sf_emulator_server, tmp_path_factory
):
    """A real worker on the pipeline's own queue that reaches the session's emulator."""
    log = tmp_path_factory.mktemp("pipeline-worker") / "worker.log"
    with django_db_blocker.unblock():
        proc = pipeline_worker_start(sf_emulator_server, queue=PIPELINE_QUEUE, log_path=log)
    yield proc
    worker_stop(proc)


@pytest.fixture
def pipeline_queue():
    """Tasks this test enqueues go to the pipeline worker's queue (not the shared one,
    whose worker cannot reach the emulator)."""
    from leadsync.celery import app

    previous = app.conf.task_default_queue
    app.conf.task_default_queue = PIPELINE_QUEUE
    yield PIPELINE_QUEUE
    app.conf.task_default_queue = previous


from tests.browser import *  # noqa: E402, F403 - Playwright fixtures (browser, page)
from tests.fixtures_emulator import *  # noqa: E402, F403 - the Salesforce emulator fixtures

"""Workers and beat ride out a Redis outage by themselves: the same processes carry on
when Redis returns. Run with the flags docker-compose deploys, against a Redis of the
test's own that is killed (SIGKILL) and started again."""

import os
import subprocess
import sys
import time
import uuid

import pytest
import redis
from celery import Celery

from tests.conftest import REPO, database_url_for_subprocess, wait_until
from tests.leadsync.test_deployment import compose
from tests.outage import OUTAGE_SECONDS, OUTAGES, throwaway_redis  # noqa: F401 - fixture

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def compose_argv(service: str) -> list[str]:
    argv = compose()["services"][service]["command"].split()
    assert argv[:3] == ["celery", "-A", "leadsync"]
    return [sys.executable, "-m", *argv]


def start(argv: list[str], *, redis_url: str, log_path, **env) -> subprocess.Popen:
    env = {**os.environ, "REDIS_URL": redis_url, "DATABASE_URL": database_url_for_subprocess(),
           **env}  # fmt: skip
    with open(log_path, "wb") as out:
        return subprocess.Popen(argv, cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT)


def stop(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()


def test_worker_survives_a_redis_outage_with_a_message_in_hand(throwaway_redis, tmp_path):  # noqa: F811
    name = f"outage-{uuid.uuid4().hex[:8]}@localhost"
    log = tmp_path / "worker.log"
    worker = start(
        [*compose_argv("worker"), "--concurrency", "1", "--hostname", name],
        redis_url=throwaway_redis.url,
        log_path=log,
    )
    # Not the current app: the project's services enqueue through `celery.current_app`,
    # which must stay the project's for the tests after this one.
    probe = Celery(
        "probe", broker=throwaway_redis.url, backend=throwaway_redis.url, set_as_current=False
    )

    def pong() -> bool:
        try:
            return probe.send_task("leadsync.ping", ignore_result=False).get(timeout=2) == "pong"
        except Exception:  # the broker or result backend is still coming back
            return False

    def holding_delayed_task() -> bool:
        try:
            return bool((probe.control.inspect([name], timeout=1).scheduled() or {}).get(name))
        except redis.exceptions.ConnectionError:  # the probe's own connection died with Redis
            return False

    try:
        wait_until(pong, timeout=60, message="the worker to answer")
        for outage in range(1, OUTAGES + 1):
            # A task due in an hour: the worker holds its message unacknowledged, which is
            # what made kombu's reconnect crash the worker.
            probe.send_task("leadsync.ping", countdown=3600)
            wait_until(holding_delayed_task, timeout=20, message="the worker to hold the task")

            throwaway_redis.kill()
            wait_until(
                lambda n=outage: log.read_bytes().count(b"Connection to broker lost") >= n,
                timeout=20,
                message="the worker to notice",
            )
            time.sleep(OUTAGE_SECONDS)  # the outage itself
            throwaway_redis.start()  # comes back empty

            wait_until(
                lambda: worker.poll() is not None or pong(),
                timeout=60,
                message="the same worker to run a task again",
            )
            assert worker.poll() is None, log.read_text()
    finally:
        stop(worker)
    output = log.read_text()
    assert output.count("Restoring 1 unacknowledged message(s)") == OUTAGES  # used to crash
    assert "Unrecoverable error" not in output, output


def test_beat_keeps_scheduling_after_a_redis_outage(throwaway_redis, tmp_path):  # noqa: F811
    log = tmp_path / "beat.log"
    argv = compose_argv("beat")
    argv[argv.index("--schedule") + 1] = str(tmp_path / "celerybeat-schedule")
    beat = start(argv, redis_url=throwaway_redis.url, log_path=log, DELIVERY_SWEEP_SECONDS="0.5")
    queued = lambda: redis.Redis.from_url(throwaway_redis.url).llen("celery")  # noqa: E731
    try:
        wait_until(lambda: queued() >= 1, timeout=30, message="beat to enqueue the sweep")
        for _ in range(OUTAGES):
            throwaway_redis.kill()
            failed = log.read_bytes().count(b"Couldn't apply scheduled task")
            wait_until(
                lambda f=failed: log.read_bytes().count(b"Couldn't apply scheduled task") > f,
                timeout=20,
                message="beat to meet the outage",
            )
            time.sleep(OUTAGE_SECONDS)
            throwaway_redis.start()  # comes back empty

            wait_until(
                lambda: beat.poll() is not None or queued() >= 1,
                timeout=60,
                message="the same beat to enqueue again",
            )
            assert beat.poll() is None, log.read_text()
    finally:
        stop(beat)

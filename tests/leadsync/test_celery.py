"""A task enqueued on real Redis is run by a real worker process."""

import pytest

from leadsync.celery import app, ping

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def test_task_round_trip_through_redis_and_a_worker(celery_worker_process):
    assert app.conf.broker_url.startswith("redis://")
    result = ping.apply_async(ignore_result=False)
    assert result.get(timeout=30) == "pong"


def test_celery_is_configured_for_at_least_once_delivery():
    conf = app.conf
    assert conf.task_acks_late and conf.task_reject_on_worker_lost
    assert conf.worker_prefetch_multiplier == 1
    assert conf.accept_content == ["json"] and conf.task_serializer == "json"
    assert conf.task_soft_time_limit < conf.task_time_limit
    assert conf.broker_transport_options["visibility_timeout"] > conf.task_time_limit


def test_workers_and_beat_retry_the_broker_for_as_long_as_it_is_down():
    conf = app.conf
    assert conf.broker_connection_retry_on_startup and conf.broker_connection_retry
    assert conf.broker_connection_max_retries is None
    assert conf.broker_transport == "leadsync.broker:Transport"  # survives reconnects


def test_worker_runs_tasks_with_only_the_embedded_defaults(tmp_path):
    """`make run` has no Redis: the filesystem broker and file results carry the task."""
    import os
    import subprocess
    import sys

    from tests.conftest import REPO

    env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL", "CELERY_RESULT_BACKEND"}
    }
    env["LEADSYNC_VAR_DIR"] = str(tmp_path)
    worker = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "leadsync", "worker", "--loglevel", "WARNING",
         "--concurrency", "1", "--without-mingle", "--without-gossip"],
        cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        code = (
            "from leadsync.celery import app, ping;"
            "assert app.conf.broker_url.startswith('filesystem://');"
            "print(ping.apply_async(ignore_result=False).get(timeout=60))"
        )
        sender = subprocess.run(
            [sys.executable, "-c", code], cwd=REPO, env=env, capture_output=True, text=True,
            timeout=90,
        )  # fmt: skip
        assert sender.stdout.strip() == "pong", sender.stderr
    finally:
        worker.terminate()
        worker.wait(timeout=20)

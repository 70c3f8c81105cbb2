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

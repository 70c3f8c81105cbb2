"""Enqueueing by task name: never raises, never waits for a broker that is down."""

from unittest import mock

import pytest
from kombu.exceptions import OperationalError

from integrations.delivery.tasks import delivery_push
from leadsync import enqueue


@pytest.fixture(autouse=True)
def broker_up(monkeypatch):
    monkeypatch.setattr(enqueue, "_broker_down_until", 0.0)


def test_a_task_is_sent_by_name_without_retries_or_a_result():
    with mock.patch.object(delivery_push, "apply_async") as sent:
        assert enqueue.task_send("integrations.delivery_push", 7, queue="push") is True
    args, kwargs = sent.call_args
    assert args[0] == (7,)
    # retry=False: a request whose broker is down answers now (the sweeper sends later);
    # no result: nothing subscribes to the result backend, which may be down too.
    assert kwargs == {"retry": False, "ignore_result": True, "queue": "push"}


def test_a_broker_outage_is_logged_not_raised(caplog):
    refused = OperationalError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")
    with mock.patch.object(delivery_push, "apply_async", side_effect=refused):
        assert enqueue.task_send("integrations.delivery_push", 7) is False
    assert "sweeper will pick it up" in caplog.text


def test_after_a_failed_publish_the_broker_is_left_alone_for_a_moment(monkeypatch):
    """A booking publishes twice (push, email): with Redis down it waits for one failed
    try, not two; the work stays in the database for the sweepers."""
    refused = OperationalError("Connection refused.")
    clock = [1000.0]
    monkeypatch.setattr(enqueue.time, "monotonic", lambda: clock[0])
    with mock.patch.object(delivery_push, "apply_async", side_effect=refused) as tried:
        assert enqueue.task_send("integrations.delivery_push", 7) is False
        assert enqueue.task_send("bookings.guest_email_send", 8) is False
    assert tried.call_count == 1
    clock[0] += enqueue.BROKER_DOWN_SECONDS + 0.1
    with mock.patch.object(delivery_push, "apply_async") as sent:
        assert enqueue.task_send("integrations.delivery_push", 7) is True
    sent.assert_called_once()

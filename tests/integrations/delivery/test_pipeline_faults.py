"""The pipeline through real outages: a real Celery worker on real Redis pushing to the
emulator over HTTPS, with faults switched on in the emulator, the broker refusing at
submit, a revoked grant, and a worker SIGKILLed mid-call. Beat is played by the test:
`deliveries_sweep()` in a polling loop (it enqueues on the pipeline worker's queue)."""

import os
import signal
from unittest import mock

import pytest
from django.urls import reverse
from kombu.exceptions import OperationalError

from bookings.models import Booking
from integrations.connection.tokens import client_for
from integrations.delivery import services as delivery_services
from integrations.delivery.tasks import delivery_push
from integrations.models import Delivery, SalesforceConnection
from tests.conftest import pipeline_worker_start, wait_until, worker_stop
from tests.factories import SObjectSchemaFactory, lead_page_with_target
from tests.fixtures_emulator import emulator_admin
from tests.integrations.conftest import emulator_faults
from tests.integrations.connection.test_views import connect
from tests.integrations.delivery.test_pipeline_e2e import book
from tests.integrations.delivery.test_push import due_deliveries

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.worker]
Status = Delivery.Status


def all_sent(count: int):
    """A predicate for wait_until that plays beat (sweeps) while it waits."""

    def predicate():
        if Delivery.objects.filter(status=Status.SENT).count() == count:
            return True
        delivery_services.deliveries_sweep()
        return False

    return predicate


def leads(server) -> list[dict]:
    return emulator_admin(server, "GET", "records/Lead?seeded=false")


def test_transient_faults_are_retried_into_exactly_one_record(
    client, sf_connection, sf_emulator, pipeline_worker, pipeline_queue
):
    emulator_faults(
        sf_emulator,
        latency_ms=100,
        fail_next=["503", "lock", "timeout_after_write"],
        timeout_after_write_seconds=4,  # the worker gives up after SALESFORCE_TIMEOUT=3
    )
    page = lead_page_with_target(tenant=sf_connection.tenant)
    booking = book(client, page)

    wait_until(all_sent(1), timeout=60, interval=0.5, message="the delivery to be sent")

    delivery = Delivery.objects.get(booking=booking)
    [lead] = leads(sf_emulator)
    assert delivery.sf_record_id == lead["Id"]
    attempts = delivery.attempt_log.order_by("started_at")
    attempts = list(attempts.values_list("outcome", "error_code"))
    assert attempts == [
        ("retry", "SERVER_UNAVAILABLE"),
        ("retry", "UNABLE_TO_LOCK_ROW"),
        ("sent", ""),  # written, answer lost: found by its booking id, not sent again
    ]
    assert delivery.attempts == 3
    assert "answer was lost" in delivery.attempt_log.order_by("started_at").last().message


def test_revoked_grant_holds_then_reconnecting_delivers(
    client, client_for, admin_a, sf_connection, sf_emulator, pipeline_worker, pipeline_queue
):
    page = lead_page_with_target(tenant=sf_connection.tenant)
    emulator_admin(sf_emulator, "POST", "revoke-all")
    booking = book(client, page)

    wait_until(
        lambda: Delivery.objects.filter(booking=booking, status=Status.HELD).exists(),
        timeout=30,
        message="the delivery to be held",
    )
    sf_connection.refresh_from_db()
    assert sf_connection.status == SalesforceConnection.Status.NEEDS_RECONNECT
    assert Delivery.objects.get(booking=booking).last_error_code == "invalid_grant"

    response = connect(client_for(admin_a), sf_connection, sf_emulator)
    assert response.status_code == 302

    wait_until(all_sent(1), timeout=30, interval=0.3, message="the held delivery to be sent")
    assert len(leads(sf_emulator)) == 1


def test_broker_down_at_submit_saves_the_booking_and_the_sweeper_delivers_it(
    client, sf_connection, sf_emulator, pipeline_worker, pipeline_queue
):
    page = lead_page_with_target(tenant=sf_connection.tenant)
    refused = OperationalError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")
    with mock.patch.object(delivery_push, "apply_async", side_effect=refused) as delay:
        booking = book(client, page)  # the guest still gets the confirmation (302)
    assert delay.call_count == 1
    delivery = Delivery.objects.get(booking=booking)
    assert delivery.status == Status.PENDING
    assert leads(sf_emulator) == []

    # Redis is back; beat's sweep enqueues what the outage left behind.
    wait_until(all_sent(1), timeout=30, interval=0.3, message="the sweeper to deliver")
    assert len(leads(sf_emulator)) == 1


def test_a_worker_killed_mid_batch_loses_and_duplicates_nothing(
    sf_connection, sf_emulator, pipeline_worker, pipeline_queue, settings, tmp_path
):
    from leadsync.celery import app

    SObjectSchemaFactory(connection=sf_connection)
    client_for(sf_connection).limits()  # a stored access token: the first call is the write
    deliveries = due_deliveries(sf_connection, 300)
    emulator_faults(sf_emulator, latency_ms=2000)
    doomed = pipeline_worker_start(sf_emulator, queue="pipeline-kill", log_path=tmp_path / "w.log")
    try:
        app.conf.task_default_queue = "pipeline-kill"
        delivery_services.push_enqueue(sf_connection.pk)
        wait_until(
            lambda: Delivery.objects.filter(status=Status.SENDING).exists(),
            timeout=30,
            message="the doomed worker to claim a batch",
        )
        os.killpg(doomed.pid, signal.SIGKILL)  # mid-call: the emulator sleeps 2 s first
        doomed.wait(timeout=10)
    finally:
        app.conf.task_default_queue = pipeline_queue
        worker_stop(doomed)
    stuck = Delivery.objects.filter(status=Status.SENDING).count()
    # In flight when the worker died: its claim of 200, and a peer push's claim of the
    # other 100 if it started (a backlog larger than one claim is shared).
    assert stuck in (200, 300)

    emulator_faults(sf_emulator, latency_ms=0)  # the dead worker's lease lapses in 2 s
    wait_until(all_sent(300), timeout=60, interval=0.5, message="every delivery to be sent")

    booking_ids = [lead["LeadSync_Booking_Id__c"] for lead in leads(sf_emulator)]
    assert len(booking_ids) == len(set(booking_ids)) == 300
    uids = {str(uid) for uid in Booking.objects.values_list("uid", flat=True)}
    assert set(booking_ids) == uids
    reclaimed = Delivery.objects.filter(attempt_log__error_code="CLAIM_EXPIRED").distinct()
    assert reclaimed.count() == stuck
    assert {d.pk for d in deliveries} == set(Delivery.objects.values_list("pk", flat=True))
    assert len(leads(sf_emulator)) == 300


def test_the_public_page_answers_even_when_nothing_is_connected(client, tenant_a):
    page = lead_page_with_target(tenant=tenant_a)
    url = reverse("bookings:page", args=[tenant_a.slug, page.slug])
    assert client.get(url).status_code == 200
    booking = book(client, page)
    assert Delivery.objects.get(booking=booking).status == Status.HELD

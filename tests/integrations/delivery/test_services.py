"""Outbox, claims, stale claims, the retry schedule, resend and release (no Salesforce
calls here: the client seam is never reached, or patched where a push runs)."""

import threading
import uuid
from datetime import timedelta
from unittest import mock

import pytest
from django.db import connection as db_connection
from django.utils import timezone

from bookings.selectors import page_free_slots
from bookings.services import Guest, booking_submit
from integrations.delivery import services as delivery_services
from integrations.delivery.claims import (
    claim_lease_kept,
    deliveries_claim,
    deliveries_reclaim_stale,
)
from integrations.delivery.outcomes import (
    PushReport,
    _after_error,
    delivery_retry_delay,
    outcomes_record,
)
from integrations.delivery.tasks import delivery_push
from integrations.models import Delivery, DeliveryAttempt, SalesforceConnection
from integrations.salesforce.errors import Kind, SalesforceError
from integrations.salesforce.push import PushOutcome
from tests.conftest import wait_until
from tests.factories import (
    BookingFactory,
    DeliveryFactory,
    SalesforceConnectionFactory,
    SyncTargetFactory,
    lead_page_with_target,
)

Status = Delivery.Status


@pytest.fixture
def delay():
    """The enqueue seam: pushes enqueued by task name (no broker involved); the mock is
    called with each push's arguments."""
    pushes = mock.Mock()

    def send(name, *args, **options):
        if name == delivery_push.name:  # the same seam also sends guest emails
            pushes(*args)
        return True

    with mock.patch("leadsync.enqueue.task_send", side_effect=send):
        yield pushes


def submit(page, **answers):
    return booking_submit(
        page=page,
        slot=page_free_slots(page)[0],
        guest=Guest(name="Ann Lee", email="ann@example.com"),
        answers={"company": "Acme", **answers},
        url_params={},
    )


# -- the outbox ---------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_booking_gets_one_pending_delivery_per_enabled_target_and_a_push_on_commit(
    delay, tenant_a, django_capture_on_commit_callbacks
):
    connection = SalesforceConnectionFactory(tenant=tenant_a)
    page = lead_page_with_target(tenant=tenant_a)
    SyncTargetFactory(page=page, sobject="Contact", enabled=True)
    SyncTargetFactory(page=page, sobject="Account", enabled=False)

    with django_capture_on_commit_callbacks(execute=True):
        booking = submit(page)

    deliveries = Delivery.objects.filter(booking=booking).order_by("sobject")
    assert [(d.sobject, d.status, d.connection_id) for d in deliveries] == [
        ("Contact", Status.PENDING, connection.pk),
        ("Lead", Status.PENDING, connection.pk),
    ]
    assert all(d.next_attempt_at <= timezone.now() for d in deliveries)
    delay.assert_called_once_with(connection.pk)


@pytest.mark.django_db
def test_a_connected_orgs_deliveries_are_written_by_the_statement_that_finds_the_targets(
    delay, tenant_a
):
    from django.test.utils import CaptureQueriesContext

    connection = SalesforceConnectionFactory(tenant=tenant_a)
    page = lead_page_with_target(tenant=tenant_a)
    SyncTargetFactory(page=page, sobject="Contact", enabled=True)
    booking = BookingFactory(page=page)

    with CaptureQueriesContext(db_connection) as queries:
        made = delivery_services.deliveries_create_for_booking(booking=booking)
    assert len(queries) == 1, [q["sql"] for q in queries]
    assert "integrations_synctarget" in queries[0]["sql"]
    stored = {d.pk: d for d in Delivery.objects.filter(booking=booking)}
    assert sorted(stored) == sorted(d.pk for d in made)
    for delivery in made:
        row = stored[delivery.pk]
        assert not delivery._state.adding
        assert (delivery.target_id, delivery.sobject, delivery.connection_id) == (
            row.target_id, row.target.sobject, connection.pk,
        )  # fmt: skip
        assert (delivery.status, delivery.next_attempt_at, delivery.created_at) == (
            row.status, row.next_attempt_at, row.created_at,
        )  # fmt: skip


@pytest.mark.django_db
def test_without_a_connection_the_delivery_is_held_with_the_reason(
    delay, tenant_a, django_capture_on_commit_callbacks
):
    page = lead_page_with_target(tenant=tenant_a)

    with django_capture_on_commit_callbacks(execute=True):
        booking = submit(page)

    delivery = Delivery.objects.get(booking=booking)
    assert delivery.status == Status.HELD
    assert delivery.last_error_code == "NOT_CONNECTED"
    assert "after connecting" in delivery.last_error_message
    assert delivery.connection.tenant == tenant_a
    assert delivery.connection.status == SalesforceConnection.Status.DISABLED
    delay.assert_not_called()


@pytest.mark.django_db
def test_a_page_without_targets_makes_no_delivery(tenant_a):
    page = lead_page_with_target(tenant=tenant_a)
    page.sync_targets.update(enabled=False)
    booking = submit(page)
    assert not Delivery.objects.filter(booking=booking).exists()


@pytest.mark.django_db
def test_a_failing_outbox_rolls_the_booking_back(tenant_a):
    page = lead_page_with_target(tenant=tenant_a)
    failing = mock.patch(
        "integrations.delivery.services.insert_many", side_effect=RuntimeError("db")
    )
    with failing, pytest.raises(RuntimeError):
        submit(page)
    assert not page.bookings.exists()


@pytest.mark.django_db
def test_a_broker_outage_at_commit_is_logged_not_raised(
    tenant_a, django_capture_on_commit_callbacks, caplog
):
    from kombu.exceptions import OperationalError

    SalesforceConnectionFactory(tenant=tenant_a)
    page = lead_page_with_target(tenant=tenant_a)
    with (
        mock.patch.object(
            delivery_push, "apply_async", side_effect=OperationalError("Connection refused")
        ) as delay,
        django_capture_on_commit_callbacks(execute=True),
    ):
        booking = submit(page)

    assert delay.call_count == 1
    assert Delivery.objects.get(booking=booking).status == Status.PENDING
    assert "sweeper will pick it up" in caplog.text


# -- claims ---------------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_claimers_never_get_the_same_delivery(tenant_a):
    first = DeliveryFactory(booking__page__tenant=tenant_a)
    connection = first.connection
    page = first.booking.page
    for _ in range(59):
        DeliveryFactory(booking__page=page, target=first.target, connection=connection)
    barrier = threading.Barrier(3)
    claimed: list[list[int]] = []

    def claimer():
        try:
            barrier.wait()
            for _ in range(4):
                claim = deliveries_claim(connection_id=connection.pk, limit=10)
                claimed.append([d.pk for d in claim.deliveries])
        finally:
            db_connection.close()

    threads = [threading.Thread(target=claimer) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    ids = [pk for claim in claimed for pk in claim]
    assert len(ids) == len(set(ids)) == 60
    assert set(Delivery.objects.values_list("status", flat=True)) == {Status.SENDING}
    assert set(Delivery.objects.values_list("attempts", flat=True)) == {1}


@pytest.mark.django_db
def test_claim_takes_only_due_deliveries_of_its_connection(tenant_a, tenant_b):
    due = DeliveryFactory(booking__page__tenant=tenant_a)
    later = DeliveryFactory(
        booking__page=due.booking.page,
        target=due.target,
        next_attempt_at=timezone.now() + timedelta(minutes=5),
    )
    DeliveryFactory(booking__page=due.booking.page, target=due.target, status=Status.FAILED)
    DeliveryFactory(booking__page__tenant=tenant_b)

    claim = deliveries_claim(connection_id=due.connection_id, limit=200)

    assert [d.pk for d in claim.deliveries] == [due.pk]
    assert Delivery.objects.get(pk=later.pk).status == Status.PENDING


@pytest.mark.django_db
def test_a_lapsed_claim_is_taken_back_with_an_attempt_row(settings):
    settings.DELIVERY_LEASE_SECONDS = 20
    now = timezone.now()
    stale = DeliveryFactory(
        status=Status.SENDING,
        claimed_at=now - timedelta(seconds=300),
        lease_until=now - timedelta(seconds=1),
        attempts=1,
    )
    # Renewed by its push: claimed long ago, but its lease runs on.
    fresh = DeliveryFactory(
        status=Status.SENDING,
        claimed_at=now - timedelta(seconds=300),
        lease_until=now + timedelta(seconds=15),
        attempts=1,
    )

    assert deliveries_reclaim_stale() == 1

    stale.refresh_from_db()
    assert (stale.status, stale.claim_token, stale.last_error_code) == (
        Status.RETRYING,
        None,
        "CLAIM_EXPIRED",
    )
    assert stale.next_attempt_at <= timezone.now()
    assert stale.attempt_log.get().outcome == DeliveryAttempt.Outcome.RETRY
    assert Delivery.objects.get(pk=fresh.pk).status == Status.SENDING
    claim = deliveries_claim(connection_id=stale.connection_id, limit=200)
    assert [d.pk for d in claim.deliveries] == [stale.pk]


@pytest.mark.django_db
def test_a_claim_that_keeps_getting_lost_ends_failed_and_visible(settings):
    """Each lost claim spends a retry: a push that always dies (or always overruns the
    task time limit) fails for staff to see instead of being taken back forever."""
    settings.DELIVERY_LEASE_SECONDS = 60
    settings.DELIVERY_RETRY_DELAYS = [30, 120]
    # Claimed before leases existed (no lease_until): the claim time plus one lease.
    long_ago = timezone.now() - timedelta(seconds=61)
    once = DeliveryFactory(status=Status.SENDING, claimed_at=long_ago, retries=0)
    spent = DeliveryFactory(status=Status.SENDING, claimed_at=long_ago, retries=2)

    assert deliveries_reclaim_stale() == 2

    once.refresh_from_db()
    spent.refresh_from_db()
    assert (once.status, once.retries) == (Status.RETRYING, 1)
    assert (spent.status, spent.last_error_code) == (Status.FAILED, "CLAIM_EXPIRED")
    assert spent.attempt_log.get().outcome == DeliveryAttempt.Outcome.FAILED


@pytest.mark.django_db
def test_a_late_result_of_a_taken_back_claim_is_not_written(settings):

    delivery = DeliveryFactory()
    claim = deliveries_claim(connection_id=delivery.connection_id, limit=1)
    Delivery.objects.filter(pk=delivery.pk).update(claim_token=None, status=Status.RETRYING)

    outcome = PushOutcome(delivery.pk, "upsert", None, started_at=0, record_id="00Q000000000001")
    outcomes_record(claim, [(claim.deliveries[0], outcome, None)], PushReport())

    delivery.refresh_from_db()
    assert delivery.status == Status.RETRYING and not delivery.sf_record_id
    (attempt,) = delivery.attempt_log.all()  # the write is still logged, as not applied
    assert attempt.message.startswith("Arrived after the claim was taken back")


@pytest.mark.django_db
def test_a_late_failure_of_a_taken_back_claim_leaves_no_failed_attempt(settings):
    """Alerts count failed attempts: one from a claim another worker took over (and may
    have sent since) would report a failure that is not one."""

    delivery = DeliveryFactory()
    claim = deliveries_claim(connection_id=delivery.connection_id, limit=1)
    Delivery.objects.filter(pk=delivery.pk).update(claim_token=None, status=Status.SENT)
    error = SalesforceError(Kind.PERMANENT, "STRING_TOO_LONG", "too long", http_status=400)
    outcome = PushOutcome(delivery.pk, "upsert", None, started_at=0, error=error)

    outcomes_record(claim, [(claim.deliveries[0], outcome, None)], PushReport())

    delivery.refresh_from_db()
    assert delivery.status == Status.SENT
    assert not delivery.attempt_log.exists()


# -- retry schedule ------------------------------------------------------------------------------


def test_retry_delays_follow_the_schedule_within_jitter_then_give_up(settings):
    settings.DELIVERY_RETRY_DELAYS = [30, 120, 600, 1800, 7200, 21600, 43200]
    for attempts, base in enumerate(settings.DELIVERY_RETRY_DELAYS, start=1):
        waits = [delivery_retry_delay(attempts) for _ in range(200)]
        assert all(base * 0.8 <= wait <= base * 1.2 for wait in waits)
        assert len(set(waits)) > 100  # jittered, not fixed
    assert delivery_retry_delay(8) is None
    total = sum(settings.DELIVERY_RETRY_DELAYS) / 3600
    assert 20 < total < 26  # roughly a day


def test_default_retry_schedule_is_about_a_day():
    from django.conf import settings

    assert settings.DELIVERY_RETRY_DELAYS[:3] == [30, 120, 600]
    assert 20 * 3600 < sum(settings.DELIVERY_RETRY_DELAYS) < 26 * 3600


# -- resend and release ----------------------------------------------------------------------------


@pytest.mark.django_db
def test_resend_queues_failed_held_dismissed_and_retrying_but_not_sent_or_sending(
    delay,
    django_capture_on_commit_callbacks,
):
    first = DeliveryFactory(status=Status.FAILED, last_error_code="X", payload={"A": 1})
    page, target = first.booking.page, first.target
    others = {
        status: DeliveryFactory(booking__page=page, target=target, status=status)
        for status in [Status.HELD, Status.DISMISSED, Status.RETRYING, Status.SENT, Status.SENDING]
    }

    with django_capture_on_commit_callbacks(execute=True):
        count = delivery_services.deliveries_resend(deliveries=Delivery.objects.all())

    assert count == 4
    first.refresh_from_db()
    assert (first.status, first.last_error_code, first.payload) == (Status.PENDING, "", {"A": 1})
    assert Delivery.objects.get(pk=others[Status.SENT].pk).status == Status.SENT
    assert Delivery.objects.get(pk=others[Status.SENDING].pk).status == Status.SENDING
    delay.assert_called_once_with(first.connection_id)


@pytest.mark.django_db
def test_resend_with_rebuild_drops_the_payload_and_includes_sent_only_when_asked(
    delay,
    django_capture_on_commit_callbacks,
):
    sent = DeliveryFactory(status=Status.SENT, payload={"A": 1}, sf_record_id="00Q1")
    with django_capture_on_commit_callbacks(execute=True):
        assert delivery_services.deliveries_resend(deliveries=[sent], rebuild=True) == 0
        count = delivery_services.deliveries_resend(
            deliveries=[sent], rebuild=True, include_sent=True
        )
    sent.refresh_from_db()
    assert count == 1
    assert (sent.status, sent.payload) == (Status.PENDING, None)


@pytest.mark.django_db
def test_a_sent_create_mode_delivery_is_never_resent(delay, django_capture_on_commit_callbacks):
    """Create mode cannot update the record it made: resending would change nothing (the
    lookup finds it) or, at worst, create a second one."""
    booking = BookingFactory()
    target = SyncTargetFactory(page=booking.page, write_mode="insert")
    sent = DeliveryFactory(
        booking=booking, target=target, status=Status.SENT, payload={"A": 1}, sf_record_id="00Q1"
    )
    count = delivery_services.deliveries_resend(deliveries=[sent], rebuild=True, include_sent=True)
    sent.refresh_from_db()
    assert count == 0
    assert sent.status == Status.SENT


@pytest.mark.django_db
def test_a_resend_restarts_the_retry_schedule(delay, django_capture_on_commit_callbacks):
    worn = DeliveryFactory(status=Status.FAILED, attempts=9, retries=7)
    with django_capture_on_commit_callbacks(execute=True):
        delivery_services.deliveries_resend(deliveries=[worn])
    worn.refresh_from_db()
    assert (worn.status, worn.retries, worn.attempts) == (Status.PENDING, 0, 9)


@pytest.mark.django_db
def test_release_held_requeues_only_that_connections_held_deliveries(
    delay, django_capture_on_commit_callbacks, tenant_a, tenant_b
):
    held = DeliveryFactory(booking__page__tenant=tenant_a, status=Status.HELD)
    other = DeliveryFactory(booking__page__tenant=tenant_b, status=Status.HELD)

    with django_capture_on_commit_callbacks(execute=True):
        count = delivery_services.deliveries_release_held(connection=held.connection)

    assert count == 1
    assert Delivery.objects.get(pk=held.pk).status == Status.PENDING
    assert Delivery.objects.get(pk=other.pk).status == Status.HELD
    delay.assert_called_once_with(held.connection_id)


@pytest.mark.django_db
def test_sweep_enqueues_due_connections_and_releases_reconnected_ones(delay, tenant_a, tenant_b):
    due = DeliveryFactory(booking__page__tenant=tenant_a)
    held = DeliveryFactory(booking__page__tenant=tenant_b, status=Status.HELD)
    DeliveryFactory(
        booking__page=due.booking.page,
        target=due.target,
        next_attempt_at=timezone.now() + timedelta(hours=1),
    )

    enqueued = delivery_services.deliveries_sweep()

    assert enqueued == sorted([due.connection_id, held.connection_id])
    assert Delivery.objects.get(pk=held.pk).status == Status.PENDING
    assert delay.call_count >= 2


def test_retry_schedule_counts_retries_since_last_queued_not_lifetime_attempts(settings):

    settings.DELIVERY_RETRY_DELAYS = [30, 120]
    resent = Delivery(attempts=9, retries=0)  # many tries in its past, resent by staff
    unavailable = SalesforceError(Kind.TRANSIENT, "SERVER_UNAVAILABLE", "down", http_status=503)

    _, status, _ = _after_error(resent, unavailable, timezone.now())

    assert (status, resent.retries) == (Status.RETRYING, 1)
    resent.retries = 2
    assert _after_error(resent, unavailable, timezone.now())[1] == Status.FAILED


def test_api_limit_refusals_do_not_use_up_the_retry_schedule(settings):

    settings.DELIVERY_RETRY_DELAYS = [30]
    settings.DELIVERY_API_PAUSE_SECONDS = 900
    last_step = Delivery(attempts=5, retries=1)
    limit = SalesforceError(
        Kind.TRANSIENT, "REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded.", http_status=403
    )
    now = timezone.now()

    _, status, when = _after_error(last_step, limit, now)

    assert status == Status.RETRYING and last_step.retries == 1
    assert (when - now).total_seconds() == 900


@pytest.mark.django_db
def test_a_refusal_of_the_old_grant_after_a_reconnect_holds_nothing(
    delay, django_capture_on_commit_callbacks
):
    """A push refused with the tokens it started with must not undo a reconnect that
    committed meanwhile: the connection stays connected, nothing is held."""

    delivery = DeliveryFactory(status=Status.PENDING)
    seen_by_push = SalesforceConnection.objects.get(pk=delivery.connection_id)
    SalesforceConnection.objects.filter(pk=seen_by_push.pk).update(
        connected_at=timezone.now()  # staff reconnected while the push was sending
    )
    revoked = SalesforceError(Kind.CONNECTION, "invalid_grant", "expired access/refresh token")

    with django_capture_on_commit_callbacks(execute=True):
        held = delivery_services.deliveries_hold(connection=seen_by_push, error=revoked)

    assert held == 0
    assert SalesforceConnection.objects.get(pk=seen_by_push.pk).status == "connected"
    assert Delivery.objects.get(pk=delivery.pk).status == Status.PENDING


@pytest.mark.django_db(transaction=True)
def test_a_running_push_keeps_its_claim_past_the_lease_and_loses_it_once_stopped(settings):
    """The lease is renewed from a thread with its own connection (hence a transactional
    test: the thread must see the committed claim)."""
    settings.DELIVERY_LEASE_SECONDS = 1.5
    delivery = DeliveryFactory(status=Status.PENDING, next_attempt_at=timezone.now())
    claim = deliveries_claim(connection_id=delivery.connection_id, limit=10)
    first_lease = Delivery.objects.get(pk=delivery.pk).lease_until

    with claim_lease_kept(claim):
        wait_until(
            lambda: timezone.now() > first_lease + timedelta(seconds=1),
            timeout=10,
            message="the first lease to have run out",
        )
        assert deliveries_reclaim_stale() == 0  # renewed meanwhile: still ours
        assert Delivery.objects.get(pk=delivery.pk).lease_until > first_lease

    assert wait_until(
        lambda: deliveries_reclaim_stale() == 1, timeout=10, message="the lease to lapse"
    )
    assert Delivery.objects.get(pk=delivery.pk).status == Status.RETRYING


def test_a_burst_of_bookings_queues_one_push_until_it_starts(settings):
    """One push is queued per connection until a worker starts it (it sees all their
    work); after it starts, the next booking queues another."""
    settings.CACHES = {
        **settings.CACHES,
        "coordination": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "LOCATION": str(uuid.uuid4()),
        },
    }
    sent = []
    with mock.patch(
        "leadsync.enqueue.task_send", side_effect=lambda name, pk: sent.append(pk) or True
    ):
        assert all(delivery_services.push_request(7) for _ in range(50))
        assert sent == [7]
        delivery_services.push_started(7)
        delivery_services.push_request(7)
        delivery_services.push_request(8)
    assert sent == [7, 7, 8]


def test_a_refused_enqueue_leaves_no_marker_and_an_unreachable_cache_still_enqueues(settings):
    settings.CACHES = {
        **settings.CACHES,
        "coordination": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "LOCATION": str(uuid.uuid4()),
        },
    }
    with mock.patch("leadsync.enqueue.task_send", return_value=False) as refused:
        assert delivery_services.push_request(9) is False
    with mock.patch("leadsync.enqueue.task_send", return_value=True) as send:
        assert delivery_services.push_request(9) is True  # not blocked by the failed one
    assert refused.call_count == send.call_count == 1
    with mock.patch("leadsync.enqueue.task_send", return_value=True) as send:
        delivery_services.push_request(10)  # queued: a second request would add nothing
        with mock.patch(
            "django.core.cache.backends.locmem.LocMemCache.add",
            side_effect=ConnectionError("down"),
        ):
            assert delivery_services.push_request(10) is True
    assert send.call_count == 2  # the cache could not say, so the push is enqueued

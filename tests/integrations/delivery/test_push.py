"""The push in-process against the emulator over HTTPS: batching, per-record outcomes,
faults, tokens, holds, pauses, create-mode lookups. (Worker-level behaviour — the real
Celery worker, broker outages, a killed worker — is in test_pipeline_*.py.)"""

import uuid
from datetime import timedelta
from unittest import mock

import pytest
from django.utils import timezone

from bookings.models import Booking
from integrations.connection.tokens import client_for
from integrations.delivery import services as delivery_services
from integrations.delivery.push import deliveries_push
from integrations.models import Delivery, DeliveryAttempt, SalesforceConnection
from tests.factories import (
    BookingFactory,
    DeliveryFactory,
    SObjectSchemaFactory,
    lead_page_with_target,
)
from tests.fixtures_emulator import emulator_admin
from tests.integrations.conftest import emulator_faults, emulator_state, token_calls

pytestmark = pytest.mark.django_db
KEY = "LeadSync_Booking_Id__c"
Status = Delivery.Status
REGION_RULE = {
    "name": "Known_Region",
    "object": "Lead",
    "field": "Region__c",
    "message": "Region must be EMEA or AMER",
    "when": {"field": "Company", "op": "equals", "value": "Refused Inc"},
}


def due_deliveries(connection, count: int, *, write_mode="upsert", company=None):
    """`count` bookings on one Lead page of the connection's tenant, each with a pending,
    due delivery (as the outbox creates them)."""
    page = lead_page_with_target(
        tenant=connection.tenant, slug=f"p-{uuid.uuid4().hex[:6]}", write_mode=write_mode
    )
    target = page.sync_targets.get()
    start = timezone.now() + timedelta(days=2)
    bookings = Booking.objects.bulk_create(
        BookingFactory.build(
            page=page,
            starts_at=start + timedelta(hours=i),
            ends_at=start + timedelta(hours=i, minutes=30),
            guest_name=f"Guest Number{i}",
            answers={"company": company(i) if company else f"Company {i}"},
        )
        for i in range(count)
    )
    now = timezone.now()
    Delivery.objects.bulk_create(
        Delivery(booking=b, target=target, connection=connection, sobject="Lead",
                 next_attempt_at=now)
        for b in bookings
    )  # fmt: skip
    return list(Delivery.objects.filter(target=target).order_by("pk"))


def api_calls(server) -> dict:
    return emulator_state(server)["api_calls"]


def leads(server) -> list[dict]:
    return emulator_admin(server, "GET", "records/Lead?seeded=false")


def make_due(deliveries=None) -> None:
    queryset = Delivery.objects.all() if deliveries is None else deliveries
    queryset.filter(status__in=[Status.RETRYING, Status.PENDING]).update(
        next_attempt_at=timezone.now()
    )


# -- batching -----------------------------------------------------------------------------------


def test_500_due_deliveries_go_out_in_three_collection_calls(sf_emulator, sf_connection):
    deliveries = due_deliveries(sf_connection, 500)

    report = deliveries_push(connection_id=sf_connection.pk)

    calls = api_calls(sf_emulator)
    assert calls.get("collection.upsert") == 3
    assert sum(n for kind, n in calls.items() if kind != "describe") == 3
    assert report.sent == 500
    stored = {lead["LeadSync_Booking_Id__c"]: lead["Id"] for lead in leads(sf_emulator)}
    assert len(stored) == 500
    for delivery in Delivery.objects.filter(pk__in=[d.pk for d in deliveries]):
        assert delivery.status == Status.SENT
        assert delivery.sf_record_id == stored[str(delivery.booking.uid)]
    attempts = DeliveryAttempt.objects.filter(delivery__in=deliveries)
    assert attempts.count() == 500
    assert attempts.values("api_call_id").distinct().count() == 3
    assert set(attempts.values_list("operation", flat=True)) == {"collection upsert"}


def test_mixed_per_record_failures_land_on_their_own_deliveries(sf_emulator, sf_connection):
    emulator_admin(sf_emulator, "POST", "validation-rules", REGION_RULE)
    deliveries = due_deliveries(
        sf_connection, 6, company=lambda i: "Refused Inc" if i in (1, 4) else f"Fine {i}"
    )

    deliveries_push(connection_id=sf_connection.pk)

    assert api_calls(sf_emulator).get("collection.upsert") == 1
    by_pk = {d.pk: d for d in Delivery.objects.all()}
    refused = {deliveries[1].pk, deliveries[4].pk}
    for pk, delivery in by_pk.items():
        if pk in refused:
            assert delivery.status == Status.FAILED
            assert delivery.last_error_code == "FIELD_CUSTOM_VALIDATION_EXCEPTION"
            assert delivery.last_error_message == "Region must be EMEA or AMER"
            assert delivery.last_error_fields == ["Region__c"]
            assert not delivery.sf_record_id
        else:
            assert delivery.status == Status.SENT and delivery.sf_record_id
    assert len(leads(sf_emulator)) == 4


def test_batching_off_sends_one_request_per_record(sf_emulator, sf_connection, settings):
    settings.DELIVERY_BATCHING = False
    due_deliveries(sf_connection, 3)

    deliveries_push(connection_id=sf_connection.pk)

    assert api_calls(sf_emulator).get("sobject.upsert") == 3
    assert "collection.upsert" not in api_calls(sf_emulator)


# -- errors ---------------------------------------------------------------------------------------


def test_permanent_error_fails_at_once_with_salesforces_message(sf_emulator, sf_connection):
    emulator_admin(sf_emulator, "POST", "validation-rules", REGION_RULE)
    [delivery] = due_deliveries(sf_connection, 1, company=lambda i: "Refused Inc")

    deliveries_push(connection_id=sf_connection.pk)
    make_due()
    deliveries_push(connection_id=sf_connection.pk)  # nothing due: failed is final

    delivery.refresh_from_db()
    assert delivery.status == Status.FAILED
    assert delivery.attempts == 1
    assert (delivery.last_error_code, delivery.last_error_message) == (
        "FIELD_CUSTOM_VALIDATION_EXCEPTION",
        "Region must be EMEA or AMER",
    )
    attempt = delivery.attempt_log.get()
    assert (attempt.outcome, attempt.http_status, attempt.error_code) == (
        DeliveryAttempt.Outcome.FAILED,
        400,
        "FIELD_CUSTOM_VALIDATION_EXCEPTION",
    )
    assert api_calls(sf_emulator).get("sobject.upsert") == 1
    assert leads(sf_emulator) == []


def test_pre_send_check_refuses_without_an_api_call(sf_emulator, sf_connection):
    [delivery] = due_deliveries(sf_connection, 1, company=lambda i: "")
    Booking.objects.filter(pk=delivery.booking_id).update(answers={})

    deliveries_push(connection_id=sf_connection.pk)

    delivery.refresh_from_db()
    assert delivery.status == Status.FAILED
    assert delivery.last_error_code == "REQUIRED_FIELD_MISSING"
    assert delivery.last_error_fields == ["Company"]
    assert "Company" in delivery.last_error_message
    assert delivery.payload is not None and "Company" not in delivery.payload
    assert delivery.attempt_log.get().operation == "pre-send check"
    assert [k for k in api_calls(sf_emulator) if k != "describe"] == []


@pytest.mark.parametrize("fault", ["503", "lock"])
def test_transient_error_retries_with_backoff_then_sends_once(sf_emulator, sf_connection, fault):
    [delivery] = due_deliveries(sf_connection, 1)
    emulator_faults(sf_emulator, fail_next=[fault])
    before = timezone.now()

    deliveries_push(connection_id=sf_connection.pk)

    delivery.refresh_from_db()
    assert delivery.status == Status.RETRYING
    wait = (delivery.next_attempt_at - before).total_seconds()
    assert 30 * 0.8 <= wait <= 30 * 1.2 + 5
    make_due()
    deliveries_push(connection_id=sf_connection.pk)

    delivery.refresh_from_db()
    assert delivery.status == Status.SENT
    attempts = delivery.attempt_log.order_by("started_at")
    outcomes = list(attempts.values_list("outcome", "error_code"))
    code = {"503": "SERVER_UNAVAILABLE", "lock": "UNABLE_TO_LOCK_ROW"}[fault]
    assert outcomes == [("retry", code), ("sent", "")]
    assert len(leads(sf_emulator)) == 1


def test_transient_errors_fail_after_the_last_retry(sf_emulator, sf_connection, settings):
    settings.DELIVERY_RETRY_DELAYS = [1.0, 1.0]
    [delivery] = due_deliveries(sf_connection, 1)
    emulator_faults(sf_emulator, rate_503=1.0)

    for _ in range(4):
        deliveries_push(connection_id=sf_connection.pk)
        make_due()

    delivery.refresh_from_db()
    assert delivery.status == Status.FAILED
    assert delivery.attempts == 3
    assert delivery.last_error_code == "SERVER_UNAVAILABLE"
    assert list(delivery.attempt_log.values_list("outcome", flat=True)).count("retry") == 2


def test_expired_access_token_is_refreshed_once_and_the_record_sent(sf_emulator, sf_connection):
    due_deliveries(sf_connection, 1)
    deliveries_push(connection_id=sf_connection.pk)  # first token
    due_deliveries(sf_connection, 1)
    emulator_admin(sf_emulator, "POST", "clock", {"advance_seconds": 3 * 3600})

    deliveries_push(connection_id=sf_connection.pk)

    assert token_calls(sf_emulator) == 2
    assert set(Delivery.objects.values_list("status", flat=True)) == {Status.SENT}
    # Both bookings are by the same guest: the org's standard duplicate rule matches the
    # second to the first Lead, which it updates (the target's default "link" policy).
    [lead] = leads(sf_emulator)
    assert set(Delivery.objects.values_list("sf_record_id", flat=True)) == {lead["Id"]}


def test_revoked_refresh_token_holds_every_delivery_and_marks_the_connection(
    sf_emulator, sf_connection
):
    first = due_deliveries(sf_connection, 2)
    later = due_deliveries(sf_connection, 1)
    Delivery.objects.filter(pk=later[0].pk).update(
        next_attempt_at=timezone.now() + timedelta(hours=1)
    )
    emulator_admin(sf_emulator, "POST", "revoke-all")

    deliveries_push(connection_id=sf_connection.pk)

    sf_connection.refresh_from_db()
    assert sf_connection.status == SalesforceConnection.Status.NEEDS_RECONNECT
    assert sf_connection.last_error_code == "invalid_grant"
    held = Delivery.objects.filter(status=Status.HELD)
    assert held.count() == 3  # the claimed ones and the one not yet due
    assert set(held.values_list("last_error_code", flat=True)) == {"invalid_grant"}
    assert DeliveryAttempt.objects.filter(outcome="held").count() == len(first)
    assert leads(sf_emulator) == []


def test_a_connection_that_is_not_connected_holds_instead_of_sending(sf_emulator, sf_connection):
    due_deliveries(sf_connection, 2)
    SalesforceConnection.objects.filter(pk=sf_connection.pk).update(
        status=SalesforceConnection.Status.NEEDS_RECONNECT
    )

    deliveries_push(connection_id=sf_connection.pk)

    assert set(Delivery.objects.values_list("status", flat=True)) == {Status.HELD}
    assert set(Delivery.objects.values_list("last_error_code", flat=True)) == {"NOT_CONNECTED"}
    assert emulator_state(sf_emulator)["api_calls"] == {}


# -- the daily API limit ------------------------------------------------------------------------


def test_usage_near_the_daily_limit_pauses_the_connection(sf_emulator, sf_connection, settings):
    settings.DELIVERY_API_USAGE_PAUSE_RATIO = 0.8
    SalesforceConnection.objects.filter(pk=sf_connection.pk).update(api_usage=850, api_limit=1000)
    [delivery] = due_deliveries(sf_connection, 1)
    before = timezone.now()

    report = deliveries_push(connection_id=sf_connection.pk)

    delivery.refresh_from_db()
    assert report.paused and report.claimed == 0
    assert delivery.status == Status.PENDING
    assert delivery.last_error_code == "API_USAGE_PAUSED"
    assert "850 of 1000" in delivery.last_error_message
    assert delivery.next_attempt_at >= before + timedelta(seconds=899)
    assert emulator_state(sf_emulator)["api_calls"] == {}


def test_paused_connection_resumes_once_usage_fell(sf_emulator, sf_connection):
    SalesforceConnection.objects.filter(pk=sf_connection.pk).update(api_usage=950, api_limit=1000)
    [delivery] = due_deliveries(sf_connection, 1)
    deliveries_push(connection_id=sf_connection.pk)
    make_due()  # the pause ran out

    deliveries_push(connection_id=sf_connection.pk)  # asks /limits: the emulator used ~0

    delivery.refresh_from_db()
    assert delivery.status == Status.SENT
    assert api_calls(sf_emulator).get("limits") == 1


def test_request_limit_exceeded_pauses_every_due_delivery(sf_emulator, sf_connection):
    SObjectSchemaFactory(connection=sf_connection)  # the refusal hits the write, not describe
    deliveries = due_deliveries(sf_connection, 3)
    emulator_faults(sf_emulator, fail_next=["request_limit"])
    before = timezone.now()

    deliveries_push(connection_id=sf_connection.pk)

    for delivery in Delivery.objects.filter(pk__in=[d.pk for d in deliveries]):
        assert delivery.status == Status.RETRYING
        assert delivery.last_error_code == "REQUEST_LIMIT_EXCEEDED"
        assert delivery.next_attempt_at >= before + timedelta(seconds=899)
    assert api_calls(sf_emulator) == {}  # refused before counting
    assert leads(sf_emulator) == []


# -- create mode ----------------------------------------------------------------------------------


def test_create_mode_reconciles_a_lost_answer_by_one_query_not_a_retry(
    sf_emulator, sf_connection, settings
):
    settings.SALESFORCE_TIMEOUT = 1
    SObjectSchemaFactory(connection=sf_connection)
    emulator_faults(sf_emulator, fail_next=["timeout_after_write"], timeout_after_write_seconds=2)
    [delivery] = due_deliveries(sf_connection, 1, write_mode="insert")

    deliveries_push(connection_id=sf_connection.pk)

    delivery.refresh_from_db()
    [lead] = leads(sf_emulator)
    assert (delivery.status, delivery.sf_record_id, delivery.retries) == (
        Status.SENT,
        lead["Id"],
        0,
    )
    calls = api_calls(sf_emulator)
    assert (calls.get("sobject.create"), calls.get("query")) == (1, 1)
    assert "answer was lost" in delivery.attempt_log.get().message


def test_create_mode_looks_the_record_up_before_creating_again(
    sf_emulator, sf_connection, settings
):
    """When even the reconciling query fails, the retry looks the record up first."""
    settings.SALESFORCE_TIMEOUT = 1
    SObjectSchemaFactory(connection=sf_connection)
    emulator_faults(
        sf_emulator, fail_next=["timeout_after_write", "503"], timeout_after_write_seconds=2
    )
    [delivery] = due_deliveries(sf_connection, 1, write_mode="insert")

    deliveries_push(connection_id=sf_connection.pk)
    delivery.refresh_from_db()
    assert (delivery.status, delivery.last_error_code) == (Status.RETRYING, "TIMEOUT")
    assert len(leads(sf_emulator)) == 1  # written, though we never heard back
    make_due()
    deliveries_push(connection_id=sf_connection.pk)

    delivery.refresh_from_db()
    [lead] = leads(sf_emulator)
    assert delivery.status == Status.SENT
    assert delivery.sf_record_id == lead["Id"]
    calls = api_calls(sf_emulator)
    # The refused reconciling query (503) is not counted; the lookup is.
    assert (calls.get("sobject.create"), calls.get("query")) == (1, 1)
    assert delivery.attempt_log.order_by("-started_at").first().operation == "lookup"


def test_create_mode_never_claims_a_rebuilt_payload_it_did_not_send(
    sf_emulator, sf_connection, settings
):
    """A create-mode resend with the current mapping that finds the record an unclear
    earlier try created leaves it as it is: the rebuilt record is not recorded as sent."""
    settings.SALESFORCE_TIMEOUT = 1
    SObjectSchemaFactory(connection=sf_connection)
    emulator_faults(
        sf_emulator, fail_next=["timeout_after_write", "503"], timeout_after_write_seconds=2
    )
    [delivery] = due_deliveries(sf_connection, 1, write_mode="insert")
    deliveries_push(connection_id=sf_connection.pk)  # written, answer lost, not reconciled
    delivery_services.deliveries_resend(deliveries=[delivery], rebuild=True)

    deliveries_push(connection_id=sf_connection.pk)

    delivery.refresh_from_db()
    [lead] = leads(sf_emulator)
    assert (delivery.status, delivery.sf_record_id) == (Status.SENT, lead["Id"])
    assert delivery.payload is None
    last = delivery.attempt_log.order_by("-started_at").first()
    assert "not applied" in last.message


def test_create_mode_creates_when_the_lookup_finds_nothing(sf_emulator, sf_connection):
    [delivery] = due_deliveries(sf_connection, 1, write_mode="insert")
    Delivery.objects.filter(pk=delivery.pk).update(attempts=1, status=Status.RETRYING)

    deliveries_push(connection_id=sf_connection.pk)

    delivery.refresh_from_db()
    assert delivery.status == Status.SENT
    calls = api_calls(sf_emulator)
    assert (calls.get("query"), calls.get("sobject.create")) == (1, 1)


def test_create_mode_batches_into_one_collection_create(sf_emulator, sf_connection):
    due_deliveries(sf_connection, 5, write_mode="insert")

    deliveries_push(connection_id=sf_connection.pk)

    assert api_calls(sf_emulator).get("collection.create") == 1
    ids = set(Delivery.objects.values_list("sf_record_id", flat=True))
    assert ids == {lead["Id"] for lead in leads(sf_emulator)} and len(ids) == 5


# -- payload --------------------------------------------------------------------------------------


def test_a_retry_sends_the_stored_payload_and_rebuild_uses_the_current_mapping(
    sf_emulator, sf_connection
):
    [delivery] = due_deliveries(sf_connection, 1)
    deliveries_push(connection_id=sf_connection.pk)
    delivery.refresh_from_db()
    assert delivery.payload["Region__c"] == "EMEA"
    delivery.target.mappings.filter(sf_field="Region__c").update(constant_value="AMER")

    delivery_services.deliveries_resend(deliveries=[delivery])  # sent: left alone
    assert Delivery.objects.get(pk=delivery.pk).status == Status.SENT
    resent = delivery_services.deliveries_resend(
        deliveries=[delivery], rebuild=True, include_sent=True
    )
    assert resent == 1
    deliveries_push(connection_id=sf_connection.pk)

    delivery.refresh_from_db()
    [lead] = leads(sf_emulator)  # updated, not duplicated
    assert (delivery.status, delivery.payload["Region__c"], lead["Region__c"]) == (
        Status.SENT,
        "AMER",
        "AMER",
    )


def test_a_backlog_yields_to_another_org_after_one_round(sf_emulator, sf_connection, settings):
    """Fair across tenants: with another org's work waiting, a push sends one claim and
    puts the rest of its backlog at the back of the queue."""
    settings.DELIVERY_BATCH_SIZE = 2
    deliveries = due_deliveries(sf_connection, 5)
    DeliveryFactory(next_attempt_at=timezone.now())  # another tenant's, waiting
    requested = []
    with mock.patch.object(
        delivery_services, "push_request", side_effect=lambda pk, **_: requested.append(pk)
    ):
        report = deliveries_push(connection_id=sf_connection.pk)

    assert report.claimed == 2
    assert requested == [sf_connection.pk]
    left = Delivery.objects.filter(pk__in=[d.pk for d in deliveries], status=Status.PENDING)
    assert left.count() == 3


def test_a_first_turn_is_short_while_other_orgs_wait(sf_emulator, sf_connection, settings):
    """With other orgs' work waiting, a fresh push claims only DELIVERY_FIRST_CLAIM_SIZE
    and asks for a resumed push, which then takes full batches."""
    settings.DELIVERY_BATCH_SIZE, settings.DELIVERY_FIRST_CLAIM_SIZE = 4, 2
    deliveries = due_deliveries(sf_connection, 9)
    DeliveryFactory(next_attempt_at=timezone.now())  # another tenant's, waiting
    requested = []

    def push_request(pk, **kwargs):
        requested.append((pk, kwargs.get("resumed", False)))

    with mock.patch.object(delivery_services, "push_request", side_effect=push_request):
        first = deliveries_push(connection_id=sf_connection.pk)
        resumed = deliveries_push(connection_id=sf_connection.pk, resumed=True)

    assert (first.claimed, resumed.claimed) == (2, 4)
    assert requested == [(sf_connection.pk, True), (sf_connection.pk, True)]
    left = Delivery.objects.filter(pk__in=[d.pk for d in deliveries], status=Status.PENDING)
    assert left.count() == 3


def test_a_push_past_its_time_takes_no_new_claim(sf_emulator, sf_connection, settings):
    """A push that has run DELIVERY_PUSH_SECONDS hands the rest to a new push instead of
    claiming again (so no claim meets Celery's time limit half sent)."""
    settings.DELIVERY_BATCH_SIZE, settings.DELIVERY_PUSH_SECONDS = 2, 0.001
    due_deliveries(sf_connection, 5)
    with mock.patch.object(delivery_services, "push_request") as requested:
        report = deliveries_push(connection_id=sf_connection.pk)
    assert (report.claimed, report.sent) == (2, 2)
    requested.assert_called_once_with(sf_connection.pk, queue=None, resumed=True)


def test_a_resumed_push_is_enqueued_as_such(settings):
    with mock.patch.object(delivery_services.enqueue, "task_send") as sent:
        delivery_services.push_enqueue(5, resumed=True)
        delivery_services.push_enqueue(6)
    assert [c.args for c in sent.call_args_list] == [
        (delivery_services.PUSH_TASK, 5, True),
        (delivery_services.PUSH_TASK, 6),
    ]


def test_alone_a_backlog_drains_in_one_push(sf_emulator, sf_connection, settings):
    settings.DELIVERY_BATCH_SIZE = 2
    due_deliveries(sf_connection, 5)
    with mock.patch.object(delivery_services, "push_request") as requested:
        report = deliveries_push(connection_id=sf_connection.pk)
    assert (report.claimed, report.sent, requested.call_count) == (5, 5, 0)


def lapsed(delivery, *, claim_began):
    """The delivery as the sweep leaves it after its claim lapsed (claims.py)."""
    DeliveryAttempt.objects.create(
        delivery=delivery, started_at=claim_began, operation="claim expired",
        outcome=DeliveryAttempt.Outcome.RETRY, error_code="CLAIM_EXPIRED",
    )  # fmt: skip
    Delivery.objects.filter(pk=delivery.pk).update(
        status=Status.RETRYING, attempts=1, retries=1, last_error_code="CLAIM_EXPIRED",
        next_attempt_at=timezone.now(),
    )  # fmt: skip


def writes_of(server, booking) -> int:
    summary = emulator_admin(server, "GET", "writes")["by_value"]
    return (
        summary.get("Lead.LeadSync_Booking_Id__c", {})
        .get(str(booking.uid).lower(), {})
        .get("writes", 0)
    )


def test_a_lapsed_claim_whose_write_landed_is_found_not_written_again(sf_emulator, sf_connection):
    """A worker killed after Salesforce wrote the record: the next push finds it by the
    booking id (touched since the lost claim began) and writes nothing."""
    SObjectSchemaFactory(connection=sf_connection)
    [delivery] = due_deliveries(sf_connection, 1)
    began = timezone.now() - timedelta(seconds=1)
    key = str(delivery.booking.uid)
    client_for(sf_connection).upsert(
        "Lead", KEY, key, {"LastName": "Lost", "Company": "C", "Region__c": "EMEA"}
    )
    lapsed(delivery, claim_began=began)

    deliveries_push(connection_id=sf_connection.pk)

    delivery.refresh_from_db()
    [lead] = leads(sf_emulator)
    assert (delivery.status, delivery.sf_record_id) == (Status.SENT, lead["Id"])
    assert writes_of(sf_emulator, delivery.booking) == 1
    assert delivery.attempt_log.order_by("-started_at").first().operation == "lookup"


def test_a_lapsed_claim_whose_write_never_landed_is_written(sf_emulator, sf_connection):
    """Found only an older write (before the lost claim): this try's record goes out."""
    SObjectSchemaFactory(connection=sf_connection)
    [delivery] = due_deliveries(sf_connection, 1)
    key = str(delivery.booking.uid)
    client_for(sf_connection).upsert(
        "Lead", KEY, key, {"LastName": "Old", "Company": "C", "Region__c": "EMEA"}
    )
    lapsed(delivery, claim_began=timezone.now() + timedelta(minutes=10))

    deliveries_push(connection_id=sf_connection.pk)

    delivery.refresh_from_db()
    assert delivery.status == Status.SENT
    assert writes_of(sf_emulator, delivery.booking) == 2


def test_a_push_whose_claim_took_everything_due_claims_no_more(sf_emulator, sf_connection):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    due_deliveries(sf_connection, 3)
    deliveries_push(connection_id=sf_connection.pk)  # the describe, the token: fetched once
    deliveries = due_deliveries(sf_connection, 5)

    with CaptureQueriesContext(connection) as queries:
        report = deliveries_push(connection_id=sf_connection.pk)

    assert report.claimed == 5 and report.sent == 5
    claims = [  # the claim's locking read (not the stale claims' one)
        q for q in queries if "SKIP LOCKED" in q["sql"] and '"claimed_at" AS' not in q["sql"]
    ]
    assert len(claims) == 1  # before: a second, empty claim (and its reads) every push
    assert all(d.status == Status.SENT for d in Delivery.objects.filter(pk__in=[
        d.pk for d in deliveries]))  # fmt: skip


def test_a_pushs_reads_of_a_target_are_one_of_its_mappings_and_one_of_its_questions(
    sf_emulator, sf_connection
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    due_deliveries(sf_connection, 3)
    deliveries_push(connection_id=sf_connection.pk)  # the describe, the token: fetched once

    def reads_of_a_push(pages: int) -> dict[str, int]:
        for _ in range(pages):
            due_deliveries(sf_connection, 2)  # a page (and its target) each
        with CaptureQueriesContext(connection) as queries:
            report = deliveries_push(connection_id=sf_connection.pk)
        assert report.sent == 2 * pages
        tables = ("fieldmapping", "bookings_question", "bookings_bookingpage")
        return {t: sum(f'FROM "{t}' in q["sql"] or f'FROM "integrations_{t}' in q["sql"]
                       for q in queries) for t in tables}  # fmt: skip

    # Before: the mappings three times (record, meeting, write policies), the page and
    # its questions, for every target.
    assert reads_of_a_push(1) == {"fieldmapping": 1, "bookings_question": 1,
                                  "bookings_bookingpage": 0}  # fmt: skip
    assert reads_of_a_push(3) == {"fieldmapping": 3, "bookings_question": 3,
                                  "bookings_bookingpage": 0}  # fmt: skip

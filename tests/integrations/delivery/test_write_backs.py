"""Write-backs: a booking's changes (reschedule, cancel, no-show) applied to the Lead and
the Event its post wrote, pushed in-process to the lived-in emulator org over HTTPS; the
changes made through bookings' own services (their signal is the outbox)."""

import datetime
import uuid

import pytest
from django.utils import timezone

from bookings.models import BookingChange
from bookings.selectors import page_free_slots
from bookings.services import booking_cancel, booking_outcome_mark, booking_reschedule
from integrations.delivery import services as delivery_services
from integrations.delivery.push import deliveries_push
from integrations.delivery.selectors import WAITING_FOR_POST
from integrations.models import Delivery, SyncTarget, WriteBackField
from tests.factories import BookingFactory
from tests.integrations.conftest import emulator_faults, emulator_state
from tests.integrations.delivery.test_people import person_page, records

pytestmark = pytest.mark.django_db
Status = Delivery.Status
Kind = Delivery.Kind


def book(connection, page, *, starts_at=None, email=None) -> Delivery:
    """A booking of `page` at its first free time (or `starts_at`) with its post."""
    starts_at = starts_at or page_free_slots(page)[0]
    booking = BookingFactory(
        page=page,
        starts_at=starts_at,
        ends_at=starts_at + datetime.timedelta(minutes=page.duration_minutes),
        guest_name="Ada Byron",
        guest_email=email or f"ada-{uuid.uuid4().hex[:8]}@newco.example",
        answers={"company": "Guest Co"},
    )
    target = page.sync_targets.get()
    return Delivery.objects.create(
        booking=booking, target=target, connection=connection, sobject=target.sobject,
        next_attempt_at=timezone.now(),
    )  # fmt: skip


def push(connection) -> None:
    deliveries_push(connection_id=connection.pk)


def fresh(delivery: Delivery) -> Delivery:
    delivery.refresh_from_db()
    return delivery


def event(server, event_id: str) -> dict | None:
    return next((e for e in records(server, "Event") if e["Id"] == event_id), None)


def lead(server, lead_id: str) -> dict:
    return next(r for r in records(server, "Lead", seeded=False) if r["Id"] == lead_id)


def write_backs(post: Delivery) -> list[Delivery]:
    return list(post.write_backs.order_by("change_id"))


def api_calls(server) -> int:
    return sum(emulator_state(server)["api_calls"].values())


def sf_time(value: datetime.datetime) -> str:
    return value.astimezone(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%S")


def test_a_reschedule_moves_the_one_event_to_the_new_time(sf_emulator, sf_connection):
    page = person_page(sf_connection)
    post = book(sf_connection, page)
    push(sf_connection)
    post = fresh(post)
    assert post.status == Status.SENT and post.event_id, post.last_error_message
    new_start = page_free_slots(page)[3]

    booking_reschedule(booking=post.booking, slot=new_start, actor=BookingChange.Actor.GUEST)
    [write_back] = write_backs(post)
    assert (write_back.kind, write_back.status) == (Kind.WRITE_BACK, Status.PENDING)
    push(sf_connection)

    write_back = fresh(write_back)
    assert write_back.status == Status.SENT, write_back.last_error_message
    meetings = [e for e in records(sf_emulator, "Event") if e.get("WhoId") == post.sf_record_id]
    assert [m["Id"] for m in meetings] == [post.event_id]  # moved, never a second one
    assert meetings[0]["StartDateTime"].startswith(sf_time(new_start))
    assert write_back.steps["event"]["done"] == "updated"
    [attempt] = write_back.attempt_log.all()
    assert attempt.outcome == "sent" and "Event" in attempt.message


def test_two_reschedules_send_only_the_last_time(sf_emulator, sf_connection):
    page = person_page(sf_connection)
    post = book(sf_connection, page)
    push(sf_connection)
    post = fresh(post)
    calls_before = api_calls(sf_emulator)
    slots = page_free_slots(page)
    booking = booking_reschedule(booking=post.booking, slot=slots[2])
    booking_reschedule(booking=booking, slot=slots[5])

    first, second = write_backs(post)
    assert fresh(first).status == Status.SUPERSEDED
    assert "Superseded by a later change" in first.last_error_message
    push(sf_connection)

    assert fresh(first).status == Status.SUPERSEDED
    assert not first.attempt_log.exists()
    assert fresh(second).status == Status.SENT
    assert event(sf_emulator, post.event_id)["StartDateTime"].startswith(sf_time(slots[5]))
    assert api_calls(sf_emulator) - calls_before == 1  # one PATCH


def cancel_policy(target: SyncTarget, **policy) -> None:
    for name, value in policy.items():
        setattr(target, name, value)
    target.cancel_reason_field = "Cancel_Reason__c"
    target.save()
    WriteBackField.objects.create(
        target=target, change="cancelled", applies_to="person",
        sf_field="Meeting_Status__c", value="Cancelled",
    )  # fmt: skip


def test_cancel_with_policy_delete_deletes_the_event_and_sets_the_persons_fields(
    sf_emulator, sf_connection
):
    page = person_page(sf_connection)
    cancel_policy(page.sync_targets.get(), cancel_action=SyncTarget.CancelAction.DELETE)
    post = book(sf_connection, page)
    push(sf_connection)
    post = fresh(post)

    booking_cancel(booking=post.booking, actor="guest", reason="Found another vendor")
    push(sf_connection)

    [write_back] = write_backs(post)
    assert fresh(write_back).status == Status.SENT, write_back.last_error_message
    assert event(sf_emulator, post.event_id) is None
    person = lead(sf_emulator, post.sf_record_id)
    assert person["Meeting_Status__c"] == "Cancelled"
    assert person["Cancel_Reason__c"] == "Found another vendor"
    assert write_back.steps["event"]["done"] == "deleted"


def test_cancel_with_policy_mark_keeps_the_event_with_a_prefix_and_a_status(
    sf_emulator, sf_connection
):
    page = person_page(sf_connection)
    target = page.sync_targets.get()
    cancel_policy(target, cancel_action=SyncTarget.CancelAction.MARK)
    WriteBackField.objects.create(
        target=target, change="cancelled", applies_to="event",
        sf_field="Meeting_Status__c", value="Cancelled",
    )  # fmt: skip
    post = book(sf_connection, page)
    push(sf_connection)
    post = fresh(post)

    booking_cancel(booking=post.booking, reason="Sick")
    push(sf_connection)

    meeting = event(sf_emulator, post.event_id)
    assert meeting["Subject"] == "Cancelled: Intro call with Ada Byron"
    assert meeting["Meeting_Status__c"] == "Cancelled"
    assert lead(sf_emulator, post.sf_record_id)["Cancel_Reason__c"] == "Sick"


def test_no_show_sets_the_chosen_event_field(sf_emulator, sf_connection):
    page = person_page(sf_connection)
    WriteBackField.objects.create(
        target=page.sync_targets.get(), change="no_show", applies_to="event",
        sf_field="Meeting_Status__c", value="No-show",
    )  # fmt: skip
    post = book(sf_connection, page, starts_at=timezone.now() - datetime.timedelta(hours=2))
    push(sf_connection)
    post = fresh(post)

    booking_outcome_mark(booking=post.booking, outcome="no_show")
    push(sf_connection)

    [write_back] = write_backs(post)
    assert fresh(write_back).status == Status.SENT, write_back.last_error_message
    assert event(sf_emulator, post.event_id)["Meeting_Status__c"] == "No-show"


def test_events_off_writes_only_the_persons_fields(sf_emulator, sf_connection):
    page = person_page(sf_connection, event_enabled=False)
    cancel_policy(page.sync_targets.get(), cancel_action=SyncTarget.CancelAction.DELETE)
    post = book(sf_connection, page)
    push(sf_connection)
    post = fresh(post)
    assert not post.event_id

    booking_cancel(booking=post.booking, reason="No budget")
    push(sf_connection)

    [write_back] = write_backs(post)
    assert fresh(write_back).status == Status.SENT
    assert [op["step"] for op in write_back.payload["ops"]] == ["person"]
    assert lead(sf_emulator, post.sf_record_id)["Meeting_Status__c"] == "Cancelled"


def test_a_cancel_queued_while_the_post_retries_goes_after_it_exactly_once(
    sf_emulator, sf_connection
):
    page = person_page(sf_connection)
    page.sync_targets.update(cancel_action=SyncTarget.CancelAction.DELETE)
    post = book(sf_connection, page)
    emulator_faults(sf_emulator, fail_next=["503"])
    push(sf_connection)
    assert fresh(post).status == Status.RETRYING

    booking_cancel(booking=post.booking, reason="Changed plans")
    [write_back] = write_backs(post)
    Delivery.objects.filter(pk=post.pk).update(next_attempt_at=timezone.now())
    push(sf_connection)  # the post goes, then in the same push its cancel
    push(sf_connection)  # nothing is left to send

    post, write_back = fresh(post), fresh(write_back)
    assert (post.status, write_back.status) == (Status.SENT, Status.SENT)
    assert write_back.attempts == 1 and write_back.attempt_log.count() == 1
    assert write_back.sent_at > post.sent_at or write_back.attempt_log.get().started_at >= (
        post.attempt_log.filter(outcome="sent").get().started_at
    )
    assert event(sf_emulator, post.event_id) is None


def test_a_reschedule_of_a_failed_post_is_held_until_the_post_is_resent(sf_emulator, sf_connection):
    page = person_page(sf_connection)
    post = book(sf_connection, page)
    Delivery.objects.filter(pk=post.pk).update(
        status=Status.FAILED, last_error_code="REQUIRED_FIELD_MISSING", next_attempt_at=None
    )
    new_start = page_free_slots(page)[4]
    booking_reschedule(booking=post.booking, slot=new_start)
    [write_back] = write_backs(post)
    assert (write_back.status, write_back.last_error_code) == (Status.HELD, WAITING_FOR_POST)
    assert "resent" in write_back.last_error_message
    delivery_services.deliveries_sweep()  # beat releases held deliveries: not these
    assert fresh(write_back).status == Status.HELD

    delivery_services.deliveries_resend(deliveries=[post])
    push(sf_connection)

    post, write_back = fresh(post), fresh(write_back)
    assert (post.status, write_back.status) == (Status.SENT, Status.SENT)
    assert event(sf_emulator, post.event_id)["StartDateTime"].startswith(sf_time(new_start))


def test_a_write_back_is_not_sent_before_its_post(sf_emulator, sf_connection):
    """A cancel before the post was sent follows the policy after the post (visible)."""
    page = person_page(sf_connection)
    page.sync_targets.update(cancel_action=SyncTarget.CancelAction.MARK)
    post = book(sf_connection, page)
    booking_cancel(booking=post.booking, reason="")
    [write_back] = write_backs(post)
    from integrations.delivery.selectors import deliveries_due

    assert list(deliveries_due(connection_id=sf_connection.pk)) == [post]
    assert write_back.status == Status.PENDING  # visible on its page as waiting (dashboard)
    push(sf_connection)

    post, write_back = fresh(post), fresh(write_back)
    assert (post.status, write_back.status) == (Status.SENT, Status.SENT)
    assert event(sf_emulator, post.event_id)["Subject"].startswith("Cancelled: ")


def test_moving_an_event_deleted_in_salesforce_fails_clearly(sf_emulator, sf_connection):
    from integrations.connection.tokens import client_for

    page = person_page(sf_connection)
    post = book(sf_connection, page)
    push(sf_connection)
    post = fresh(post)
    client_for(sf_connection).collection_delete([post.event_id])

    booking_reschedule(booking=post.booking, slot=page_free_slots(page)[2])
    push(sf_connection)

    [write_back] = write_backs(post)
    write_back = fresh(write_back)
    assert (write_back.status, write_back.last_error_code) == (Status.FAILED, "ENTITY_IS_DELETED")
    assert "was deleted in Salesforce" in write_back.last_error_message


def test_deleting_an_event_already_deleted_counts_as_done(sf_emulator, sf_connection):
    from integrations.connection.tokens import client_for

    page = person_page(sf_connection)
    page.sync_targets.update(cancel_action=SyncTarget.CancelAction.DELETE)
    post = book(sf_connection, page)
    push(sf_connection)
    post = fresh(post)
    client_for(sf_connection).collection_delete([post.event_id])

    booking_cancel(booking=post.booking)
    push(sf_connection)

    [write_back] = write_backs(post)
    write_back = fresh(write_back)
    assert write_back.status == Status.SENT
    assert write_back.steps["event"]["done"] == "already deleted in Salesforce"


def test_a_thousand_write_backs_queued_at_once_go_out_in_at_most_ten_calls(
    sf_emulator, sf_connection
):
    """1,000 cancellations of bookings whose posts are sent (their Events made through
    the REST API beforehand, outside the count): five Collections PATCH calls of 200, as
    the emulator's own counters say, and every Event marked once."""
    from django.db import transaction

    from integrations.connection.tokens import client_for

    page = person_page(sf_connection)
    target = page.sync_targets.get()
    client = client_for(sf_connection)
    bookings = BookingFactory.create_batch(1000, page=page)
    event_ids = []
    for start in range(0, 1000, 200):
        created = client.collection_create(
            [
                {"attributes": {"type": "Event"}, "Subject": f"Meeting {b.pk}",
                 "StartDateTime": sf_time(b.starts_at) + "Z",
                 "EndDateTime": sf_time(b.ends_at) + "Z"}
                for b in bookings[start : start + 200]
            ]
        )  # fmt: skip
        event_ids += [result.id for result in created]
    Delivery.objects.bulk_create(
        Delivery(
            booking=b,
            target=target,
            connection=sf_connection,
            sobject="Lead",
            status=Status.SENT,
            event_id=event_id,
            sf_record_id="00Q000000000001AAA",
            person_object="Lead",
            sent_at=timezone.now(),
        )
        for b, event_id in zip(bookings, event_ids, strict=True)
    )
    with transaction.atomic():  # queued at once: every write-back is due when the push runs
        for booking in bookings:
            booking_cancel(booking=booking, reason="")
    before = emulator_state(sf_emulator)["api_calls"]

    push(sf_connection)

    after = emulator_state(sf_emulator)["api_calls"]
    used = {kind: n - before.get(kind, 0) for kind, n in after.items() if n - before.get(kind, 0)}
    assert sum(used.values()) <= 10
    assert sum(used.values()) == 5, used  # ceil(1000 / 200) updates, nothing else
    assert Delivery.objects.filter(kind=Kind.WRITE_BACK, status=Status.SENT).count() == 1000
    marked = [e for e in records(sf_emulator, "Event") if e["Id"] in set(event_ids)]
    assert len(marked) == 1000
    assert all(e["Subject"].startswith("Cancelled: ") for e in marked)


def test_a_write_back_refused_with_503_retries_on_the_schedule_and_lands_once(
    sf_emulator, sf_connection
):
    page = person_page(sf_connection)
    post = book(sf_connection, page)
    push(sf_connection)
    post = fresh(post)
    new_start = page_free_slots(page)[3]
    booking_reschedule(booking=post.booking, slot=new_start)
    [write_back] = write_backs(post)
    emulator_faults(sf_emulator, fail_next=["503"])

    push(sf_connection)
    write_back = fresh(write_back)
    assert (write_back.status, write_back.last_error_code) == (
        Status.RETRYING,
        "SERVER_UNAVAILABLE",
    )
    assert write_back.next_attempt_at > timezone.now()
    Delivery.objects.filter(pk=write_back.pk).update(next_attempt_at=timezone.now())
    push(sf_connection)

    write_back = fresh(write_back)
    assert write_back.status == Status.SENT
    assert [a.outcome for a in write_back.attempt_log.order_by("started_at")] == ["retry", "sent"]
    meetings = [e for e in records(sf_emulator, "Event") if e.get("WhoId") == post.sf_record_id]
    assert [m["Id"] for m in meetings] == [post.event_id]
    assert meetings[0]["StartDateTime"].startswith(sf_time(new_start))


def test_a_change_the_policy_leaves_alone_is_sent_without_a_call_and_says_so(
    sf_emulator, sf_connection
):
    page = person_page(sf_connection)
    page.sync_targets.update(reschedule_action=SyncTarget.RescheduleAction.LEAVE)
    post = book(sf_connection, page)
    push(sf_connection)
    post = fresh(post)
    before = api_calls(sf_emulator)
    old_start = event(sf_emulator, post.event_id)["StartDateTime"]

    booking_reschedule(booking=post.booking, slot=page_free_slots(page)[3])
    push(sf_connection)

    [write_back] = write_backs(post)
    write_back = fresh(write_back)
    assert write_back.status == Status.SENT
    assert write_back.payload == {"ops": []}
    assert api_calls(sf_emulator) == before
    assert "leaves the Event at the old time" in write_back.attempt_log.get().message
    assert event(sf_emulator, post.event_id)["StartDateTime"] == old_start

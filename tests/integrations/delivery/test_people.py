"""Bookings as people with meetings, pushed in-process against the lived-in emulator org
(existing Contacts and Leads, a converted Lead, standard duplicate rules, a Lead
assignment rule to a queue): the guest found by email, updated under the write policies
or created, the Event owned by the host, the owner read back, campaign membership."""

import uuid

import pytest
from django.utils import timezone

from integrations.delivery import services as delivery_services
from integrations.delivery.claims import CLAIM_EXPIRED
from integrations.delivery.push import deliveries_push
from integrations.models import Delivery, FieldMapping, SalesforceUserLink, SyncTarget
from tests.factories import (
    BookingFactory,
    BookingPageFactory,
    FieldMappingFactory,
    PersonTargetFactory,
    QuestionFactory,
    UserFactory,
)
from tests.fixtures_emulator import emulator_admin
from tests.integrations.conftest import emulator_state

pytestmark = pytest.mark.django_db
Status = Delivery.Status
Kind = FieldMapping.SourceKind


def records(server, sobject: str, *, seeded: bool = True) -> list[dict]:
    path = f"records/{sobject}" + ("" if seeded else "?seeded=false")
    return emulator_admin(server, "GET", path)


def sf_user(server, name: str) -> dict:
    return next(u for u in records(server, "User") if u.get("Name") == name)


def person_page(connection, *, host_sf_user: dict | None = None, **target):
    """A page posting people to Lead (the product's defaults unless `target` says
    otherwise) with a company question; its host linked to `host_sf_user`."""
    host = UserFactory(is_staff=True)
    page = BookingPageFactory(
        tenant=connection.tenant, slug=f"p-{uuid.uuid4().hex[:6]}", title="Intro call", host=host
    )
    QuestionFactory(page=page, key="company", label="Company", required=True, order=1)
    QuestionFactory(page=page, key="title", label="Title", required=False, order=2, max_length=128)
    target_row = PersonTargetFactory(page=page, **target)
    for sf_field, kind, key, policy in [
        ("Company", Kind.QUESTION, "company", "always"),
        ("FirstName", Kind.BOOKING, "guest_first_name", "on_create"),
        ("LastName", Kind.BOOKING, "guest_last_name", "on_create"),
        ("Email", Kind.BOOKING, "guest_email", "on_create"),
        ("Title", Kind.QUESTION, "title", "if_empty"),
    ]:
        FieldMappingFactory(
            target=target_row, sf_field=sf_field, source_kind=kind, source_key=key,
            write_policy=policy,
        )  # fmt: skip
    FieldMappingFactory(target=target_row, sf_field="Region__c", constant_value="EMEA")
    if host_sf_user is not None:
        SalesforceUserLink.objects.create(
            connection=connection, user=host, sf_user_id=host_sf_user["Id"],
            sf_name=host_sf_user["Name"],
        )  # fmt: skip
    return page


def book(connection, page, *, name: str, email: str, **answers) -> Delivery:
    booking = BookingFactory(
        page=page, guest_name=name, guest_email=email,
        answers={"company": "Guest Co", **answers},
    )  # fmt: skip
    return Delivery.objects.create(
        booking=booking, target=page.sync_targets.get(), connection=connection,
        sobject=page.sync_targets.get().sobject, next_attempt_at=booking.created_at,
    )  # fmt: skip


def sent(delivery: Delivery) -> Delivery:
    delivery.refresh_from_db()
    assert delivery.status == Status.SENT, (delivery.last_error_code, delivery.last_error_message)
    return delivery


def events_of(server, who_id: str) -> list[dict]:
    return [e for e in records(server, "Event") if e.get("WhoId") == who_id]


def test_a_returning_guest_is_one_lead_with_two_events_owned_by_the_host(
    sf_emulator, sf_connection
):
    host = sf_user(sf_emulator, "Tomás Ferreira")
    page = person_page(sf_connection, host_sf_user=host)
    first = book(sf_connection, page, name="Ada Byron", email="ada@newco.example", title="CTO")
    deliveries_push(connection_id=sf_connection.pk)
    second = book(sf_connection, page, name="Ada Byron", email="ada@newco.example", title="CEO")
    deliveries_push(connection_id=sf_connection.pk)

    first, second = sent(first), sent(second)
    [lead] = [r for r in records(sf_emulator, "Lead", seeded=False)]
    assert first.sf_record_id == second.sf_record_id == lead["Id"]
    assert first.steps["person"]["created"] is True
    assert second.steps["person"]["created"] is False
    assert "Found Lead" in second.steps["find"]["how"]
    assert lead["Title"] == "CTO"  # if-empty: the second booking does not overwrite it
    assert second.steps["person"]["skipped"]["Title"].startswith("Salesforce already has")
    meetings = events_of(sf_emulator, lead["Id"])
    assert len(meetings) == 2
    assert {e["OwnerId"] for e in meetings} == {host["Id"]}
    assert {e["Id"] for e in meetings} == {first.event_id, second.event_id}
    assert meetings[0]["Subject"] == "Intro call with Ada Byron"


def test_a_guest_who_is_a_contact_gets_the_meeting_on_the_contact_and_no_lead(
    sf_emulator, sf_connection
):
    hank = next(c for c in records(sf_emulator, "Contact") if c["Email"].startswith("hank"))
    page = person_page(sf_connection)
    delivery = book(sf_connection, page, name="Hank Scorpio", email=hank["Email"])

    deliveries_push(connection_id=sf_connection.pk)

    delivery = sent(delivery)
    assert records(sf_emulator, "Lead", seeded=False) == []
    assert (delivery.person_object, delivery.sf_record_id) == ("Contact", hank["Id"])
    [meeting] = [e for e in events_of(sf_emulator, hank["Id"]) if e["Id"] == delivery.event_id]
    assert meeting["WhatId"] == hank["AccountId"]
    assert meeting["LeadSync_Booking_Id__c"] == str(delivery.booking.uid)


def test_a_converted_lead_counts_as_the_contact_it_became(sf_emulator, sf_connection):
    converted = next(r for r in records(sf_emulator, "Lead") if r.get("IsConverted"))
    page = person_page(sf_connection)
    delivery = book(sf_connection, page, name="Someone Else", email=converted["Email"])

    deliveries_push(connection_id=sf_connection.pk)

    delivery = sent(delivery)
    assert (delivery.person_object, delivery.sf_record_id) == (
        "Contact",
        converted["ConvertedContactId"],
    )
    assert records(sf_emulator, "Lead", seeded=False) == []


def test_a_new_lead_goes_through_the_assignment_rule_and_its_owner_is_shown(
    sf_emulator, sf_connection
):
    page = person_page(sf_connection)
    delivery = book(sf_connection, page, name="Nia Long", email="nia@fresh.example")

    deliveries_push(connection_id=sf_connection.pk)

    delivery = sent(delivery)
    [lead] = records(sf_emulator, "Lead", seeded=False)
    assert lead["OwnerId"] != sf_connection.sf_user_id  # the rule routed it away
    assert delivery.steps["owner"]["id"] == lead["OwnerId"]
    assert delivery.steps["owner"]["name"]
    assert delivery.steps["owner"]["is_integration_user"] is False


def test_owner_policy_host_sets_the_owner_and_keeps_the_rule_out(sf_emulator, sf_connection):
    host = sf_user(sf_emulator, "Grace Okafor")
    page = person_page(sf_connection, host_sf_user=host, owner_policy=SyncTarget.OwnerPolicy.HOST)
    delivery = book(sf_connection, page, name="Omar Little", email="omar@fresh.example")

    deliveries_push(connection_id=sf_connection.pk)

    sent(delivery)
    [lead] = records(sf_emulator, "Lead", seeded=False)
    assert lead["OwnerId"] == host["Id"]


@pytest.mark.parametrize(
    ("policy", "status", "leads"),
    [
        (SyncTarget.DuplicatePolicy.LINK, Status.SENT, 0),
        (SyncTarget.DuplicatePolicy.ALLOW_SAVE, Status.SENT, 1),
        (SyncTarget.DuplicatePolicy.FAIL, Status.FAILED, 0),
    ],
)
def test_duplicate_rule_policies_when_always_creating(
    sf_emulator, sf_connection, policy, status, leads
):
    """Peter Gibbons is a seeded Lead: a new Lead with his name and email is what the
    standard duplicate rule refuses."""
    peter = next(r for r in records(sf_emulator, "Lead") if r["LastName"] == "Gibbons")
    page = person_page(
        sf_connection,
        person_match=SyncTarget.PersonMatch.ALWAYS_CREATE,
        duplicate_policy=policy,
        event_enabled=False,
    )
    delivery = book(sf_connection, page, name="Peter Gibbons", email=peter["Email"])

    deliveries_push(connection_id=sf_connection.pk)

    delivery.refresh_from_db()
    assert delivery.status == status
    assert len(records(sf_emulator, "Lead", seeded=False)) == leads
    assert delivery.steps["duplicate"]["matched"][0]["id"] == peter["Id"]
    if policy == SyncTarget.DuplicatePolicy.LINK:
        assert delivery.sf_record_id == peter["Id"]
    if policy == SyncTarget.DuplicatePolicy.FAIL:
        assert delivery.last_error_code == "DUPLICATES_DETECTED"


def test_campaign_membership_and_already_a_member_both_count_as_done(sf_emulator, sf_connection):
    [campaign] = records(sf_emulator, "Campaign")
    page = person_page(sf_connection, campaign_id=campaign["Id"], campaign_status="Responded")
    first = book(sf_connection, page, name="Ann Lee", email="ann@fresh.example")
    deliveries_push(connection_id=sf_connection.pk)
    second = book(sf_connection, page, name="Ann Lee", email="ann@fresh.example")
    deliveries_push(connection_id=sf_connection.pk)

    assert sent(first).steps["campaign"]["how"] == "Added."
    assert sent(second).steps["campaign"]["how"] == "Already a member."


def test_a_retry_resumes_at_the_event_and_never_writes_the_person_twice(sf_emulator, sf_connection):
    page = person_page(sf_connection)
    delivery = book(sf_connection, page, name="Rui Costa", email="rui@fresh.example")
    # The Event refuses once: the person is written, the meeting waits for the retry.
    emulator_admin(
        sf_emulator, "POST", "validation-rules",
        {"name": "No_Meetings", "object": "Event", "field": "Subject", "message": "Not now",
         "when": {"field": "Subject", "op": "contains", "value": "Rui"}},
    )  # fmt: skip
    deliveries_push(connection_id=sf_connection.pk)
    delivery.refresh_from_db()
    assert delivery.status == Status.FAILED
    assert delivery.steps["person"]["id"] and "event" in delivery.steps
    emulator_admin(sf_emulator, "DELETE", "validation-rules")
    delivery_services.deliveries_resend(deliveries=[delivery])  # staff: "Resend selected"
    writes_before = emulator_state(sf_emulator)["api_calls"]

    deliveries_push(connection_id=sf_connection.pk)

    delivery = sent(delivery)
    [lead] = records(sf_emulator, "Lead", seeded=False)
    assert len(events_of(sf_emulator, lead["Id"])) == 1
    calls = emulator_state(sf_emulator)["api_calls"]
    assert calls.get("collection.create", 0) - writes_before.get("collection.create", 0) == 1


def test_two_hundred_bookings_forty_percent_returning_take_a_handful_of_calls(
    sf_emulator, sf_connection
):
    page = person_page(sf_connection)
    returning = [c["Email"] for c in records(sf_emulator, "Contact")]
    deliveries = [
        book(
            sf_connection, page, name=f"Guest Person{i}",
            email=returning[i % len(returning)] if i % 5 < 2 else f"g{i}@fresh.example",
        )
        for i in range(200)
    ]  # fmt: skip
    before = sum(emulator_state(sf_emulator)["api_calls"].values())

    deliveries_push(connection_id=sf_connection.pk)

    calls = sum(emulator_state(sf_emulator)["api_calls"].values()) - before
    assert {sent(d).status for d in deliveries} == {Status.SENT}
    # describe x3, find, update, create, Event, owner: at most 0.05 per booking here.
    assert calls <= 10, emulator_state(sf_emulator)["api_calls"]
    assert len(records(sf_emulator, "Lead", seeded=False)) == 120


def test_a_new_contact_goes_under_the_account_an_answer_names(sf_emulator, sf_connection):
    initech = next(a for a in records(sf_emulator, "Account") if a["Name"] == "Initech")
    page = person_page(
        sf_connection, sobject="Contact", account_question="company", event_enabled=True
    )
    delivery = book(sf_connection, page, name="Tom Smykowski", email="tom@fresh.example",
                    company="Initech")  # fmt: skip

    deliveries_push(connection_id=sf_connection.pk)

    delivery = sent(delivery)
    [contact] = records(sf_emulator, "Contact", seeded=False)
    assert contact["AccountId"] == initech["Id"]
    assert delivery.steps["account"]["name"] == "Initech"
    [meeting] = [e for e in records(sf_emulator, "Event") if e["Id"] == delivery.event_id]
    assert meeting["WhatId"] == initech["Id"]


def test_a_new_contact_goes_under_the_account_of_its_email_domain(
    sf_emulator, sf_connection, sf_client
):
    account_id = sf_client.Account.create(
        {"Name": "Vandelay", "Website": "https://vandelay.example"}
    )["id"]
    page = person_page(sf_connection, sobject="Contact", event_enabled=False)
    delivery = book(sf_connection, page, name="Art Vandelay", email="art@vandelay.example")

    deliveries_push(connection_id=sf_connection.pk)

    sent(delivery)
    [contact] = records(sf_emulator, "Contact", seeded=False)
    assert contact["AccountId"] == account_id


def test_a_lapsed_claim_whose_event_landed_takes_that_event_not_a_second(
    sf_emulator, sf_connection
):
    """A worker stopped after Salesforce created the person and the Event but before the
    outcome was recorded (its claim lapsed): the retry finds the person by email and the
    Event by the booking id, and creates neither again."""
    page = person_page(sf_connection)
    delivery = book(sf_connection, page, name="Ada Byron", email="ada@lapsed.example")
    deliveries_push(connection_id=sf_connection.pk)
    delivery = sent(delivery)
    [event] = events_of(sf_emulator, delivery.sf_record_id)
    # What the sweep leaves after a lapsed claim: nothing of that try recorded.
    Delivery.objects.filter(pk=delivery.pk).update(
        status=Status.RETRYING, steps={}, event_id="", sf_record_id="",
        last_error_code=CLAIM_EXPIRED, next_attempt_at=timezone.now(),
    )  # fmt: skip

    deliveries_push(connection_id=sf_connection.pk)

    delivery = sent(delivery)
    assert events_of(sf_emulator, delivery.sf_record_id) == [event]
    assert delivery.event_id == event["Id"]
    assert delivery.steps["event"]["reconciled"] is True

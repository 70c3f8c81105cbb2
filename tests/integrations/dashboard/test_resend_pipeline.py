"""Resends through the real pipeline against the emulator over HTTPS: after a mapping fix a
booking reaches Salesforce exactly once, and a record that had in fact arrived is never
duplicated. The push runs in-process (integrations.delivery.deliveries_push)."""

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.urls import reverse

from integrations.delivery.push import deliveries_push
from integrations.models import Delivery, FieldMapping
from tests.factories import BookingFactory, FieldMappingFactory, lead_page_with_target
from tests.fixtures_emulator import emulator_admin

pytestmark = pytest.mark.django_db
Status = Delivery.Status
CHANGELIST = reverse("admin:integrations_delivery_changelist")


@pytest.fixture(autouse=True)
def no_broker(monkeypatch):
    """Pushes run in the test's own process: enqueueing is a no-op here."""
    monkeypatch.setattr("leadsync.enqueue.task_send", lambda name, pk: True)


def due_delivery(connection, *, company="Acme"):
    page = lead_page_with_target(tenant=connection.tenant)
    booking = BookingFactory(page=page, guest_name="Ann Lee", answers={"company": company})
    return Delivery.objects.create(
        booking=booking,
        target=page.sync_targets.get(),
        connection=connection,
        sobject="Lead",
        next_attempt_at=booking.created_at,
    )


def resend_action(client, delivery, action):
    response = client.post(CHANGELIST, {"action": action, ACTION_CHECKBOX_NAME: [delivery.pk]})
    assert response.status_code == 302
    delivery.refresh_from_db()


def leads(server) -> list[dict]:
    return emulator_admin(server, "GET", "records/Lead?seeded=false")


def test_resend_after_fixing_the_mapping_delivers_exactly_once(
    sf_emulator, sf_connection, admin_a, client_for
):
    delivery = due_delivery(sf_connection)
    target = delivery.target
    company = FieldMapping.objects.get(target=target, sf_field="Company")
    company.delete()  # the mistake: Lead.Company (required) is not mapped

    deliveries_push(connection_id=sf_connection.pk)
    delivery.refresh_from_db()
    assert (delivery.status, delivery.last_error_code) == (Status.FAILED, "REQUIRED_FIELD_MISSING")
    assert leads(sf_emulator) == []
    client = client_for(admin_a)
    summary = client.get(reverse("admin:integrations_delivery_summary")).content.decode()
    assert "Map Company to a required question or a constant" in summary

    # The fix: map the company question (required on the page) to Company.
    FieldMappingFactory(
        target=target, sf_field="Company", source_kind="question", source_key="company"
    )
    resend_action(client, delivery, "resend_rebuilt")
    assert delivery.status == Status.PENDING
    deliveries_push(connection_id=sf_connection.pk)
    deliveries_push(connection_id=sf_connection.pk)  # nothing left to send

    delivery.refresh_from_db()
    [lead] = leads(sf_emulator)
    assert delivery.status == Status.SENT
    assert (lead["Company"], lead["Id"]) == ("Acme", delivery.sf_record_id)
    assert delivery.payload["Company"] == "Acme"  # rebuilt from the current mapping


def test_resending_an_already_delivered_record_does_not_duplicate_it(
    sf_emulator, sf_connection, admin_a, client_for
):
    delivery = due_delivery(sf_connection)
    deliveries_push(connection_id=sf_connection.pk)
    delivery.refresh_from_db()
    [lead] = leads(sf_emulator)
    assert delivery.status == Status.SENT
    # Salesforce created the record but its answer was lost (a timeout, as far as we know).
    Delivery.objects.filter(pk=delivery.pk).update(
        status=Status.FAILED, sf_record_id="", last_error_code="TIMEOUT"
    )
    client = client_for(admin_a)

    resend_action(client, delivery, "resend_selected")
    deliveries_push(connection_id=sf_connection.pk)
    resend_action(client, delivery, "resend_rebuilt")  # and once more, after it was sent
    deliveries_push(connection_id=sf_connection.pk)

    delivery.refresh_from_db()
    assert [r["Id"] for r in leads(sf_emulator)] == [lead["Id"]]
    assert (delivery.status, delivery.sf_record_id) == (Status.SENT, lead["Id"])

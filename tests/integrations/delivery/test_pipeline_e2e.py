"""The whole flow with real parts: a guest books on the public page, a real Celery worker
(real Redis, this session's PostgreSQL) pushes the booking to the emulator over HTTPS."""

import pytest
from django.urls import reverse

from bookings.models import Booking
from bookings.selectors import page_free_slots
from integrations.models import Delivery, DeliveryAttempt
from tests.conftest import wait_until
from tests.factories import lead_page_with_target
from tests.fixtures_emulator import emulator_admin
from tests.integrations.delivery.test_people import person_page

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.worker]


def book(client, page, *, query: str = "", name: str = "Ann Lee", company: str = "Acme"):
    slot = page_free_slots(page)[0]
    url = reverse("bookings:page", args=[page.tenant.slug, page.slug]) + query
    data = {
        "slot": slot.isoformat(),
        "timezone": "Europe/Berlin",
        "name": name,
        "email": "ann@example.com",
        "q-company": company,
        "website": "",
    }
    response = client.post(url, data)
    assert response.status_code == 302, response.content.decode()[:2000]
    return Booking.objects.get(page=page, starts_at=slot)


def test_a_booking_on_the_public_page_becomes_exactly_one_lead(
    client, sf_connection, sf_emulator, pipeline_worker, pipeline_queue
):
    page = lead_page_with_target(tenant=sf_connection.tenant)
    booking = book(client, page, query="?utm_source=ads&LeadSource=Web")

    delivery = wait_until(
        lambda: Delivery.objects.filter(booking=booking, status=Delivery.Status.SENT).first(),
        timeout=30,
        message="the delivery to be sent",
    )
    leads = emulator_admin(sf_emulator, "GET", "records/Lead?seeded=false")
    assert len(leads) == 1
    lead = leads[0]
    assert (lead["FirstName"], lead["LastName"], lead["Company"]) == ("Ann", "Lee", "Acme")
    assert lead["Email"] == "ann@example.com"
    assert lead["Region__c"] == "EMEA"
    assert lead["LeadSource"] == "Web"  # rule 7: the parameter named like the field
    assert "utm_source" not in lead
    assert lead["LeadSync_Booking_Id__c"] == str(booking.uid)
    assert delivery.sf_record_id == lead["Id"]
    assert delivery.payload == {
        "Company": "Acme",
        "FirstName": "Ann",
        "LastName": "Lee",
        "Email": "ann@example.com",
        "LeadSource": "Web",
        "Region__c": "EMEA",
        "LeadSync_Booking_Id__c": str(booking.uid),
    }
    attempt = delivery.attempt_log.get()
    assert (attempt.outcome, attempt.operation, attempt.http_status) == (
        DeliveryAttempt.Outcome.SENT,
        "upsert",
        201,
    )
    assert attempt.sf_record_id == lead["Id"]
    assert emulator_admin(sf_emulator, "GET", "state")["api_calls"].get("sobject.upsert") == 1


def test_a_returning_guest_on_the_public_page_is_one_lead_with_two_meetings(
    client, sf_connection, sf_emulator, pipeline_worker, pipeline_queue
):
    """Product defaults (find by email, Event on) through a real worker: the second booking
    by the same guest updates the Lead the first created and adds its own Event."""
    page = person_page(sf_connection)
    first, second = book(client, page), book(client, page)

    wait_until(
        lambda: (
            Delivery.objects.filter(
                booking__in=[first, second], status=Delivery.Status.SENT
            ).count()
            == 2
        ),
        timeout=60,
        message="both deliveries to be sent",
    )
    [lead] = emulator_admin(sf_emulator, "GET", "records/Lead?seeded=false")
    events = [
        e for e in emulator_admin(sf_emulator, "GET", "records/Event") if e["WhoId"] == lead["Id"]
    ]
    assert len(events) == 2
    assert {e["LeadSync_Booking_Id__c"] for e in events} == {str(first.uid), str(second.uid)}

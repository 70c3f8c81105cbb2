"""Each booking's admin page shows where the booking went in Salesforce."""

import pytest
from django.urls import NoReverseMatch, reverse

from integrations.models import Delivery
from tests.factories import DeliveryAttemptFactory, DeliveryFactory, SyncTargetFactory

pytestmark = pytest.mark.django_db


def booking_url(booking) -> str:
    return reverse("admin:bookings_booking_change", args=[booking.pk])


def test_booking_page_shows_its_delivery_with_record_link_attempts_and_error(
    tenant_a, admin_a, client_for
):
    sent = DeliveryFactory(
        booking__page__tenant=tenant_a,
        status=Delivery.Status.SENT,
        sf_record_id="00Q5g00000DZ0d4EAD",
        attempts=2,
    )
    failed = DeliveryFactory(
        booking=sent.booking,
        target=SyncTargetFactory(page=sent.booking.page, sobject="Contact"),
        sobject="Contact",
        status=Delivery.Status.FAILED,
        last_error_code="STRING_TOO_LONG",
        last_error_message="Title: data value too large",
        last_error_fields=["Title"],
    )
    DeliveryAttemptFactory(delivery=failed)

    html = client_for(admin_a).get(booking_url(sent.booking)).content.decode()

    instance = sent.connection.instance_url
    assert f'href="{instance}/00Q5g00000DZ0d4EAD"' in html
    assert "Open in Salesforce" in html
    assert "STRING_TOO_LONG" in html and "Title: data value too large" in html
    assert "(fields: Title)" in html
    assert "Sent" in html and "Failed" in html
    try:
        detail = reverse("admin:integrations_delivery_change", args=[failed.pk])
    except NoReverseMatch:  # the dashboard's Delivery admin is not registered: plain text
        detail = f"Delivery {failed.pk}"
    assert detail in html


def test_another_tenants_staff_cannot_open_the_booking(tenant_a, admin_b, client_for):
    delivery = DeliveryFactory(booking__page__tenant=tenant_a)
    response = client_for(admin_b).get(booking_url(delivery.booking))
    assert response.status_code in (302, 404)
    assert "Salesforce deliveries" not in response.content.decode()

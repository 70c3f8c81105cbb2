"""PostgreSQL unreachable: guests get a plain 503 page, API clients a JSON 503 with
Retry-After, and a booking whose transaction was cut is not half-saved."""

import contextlib
from unittest import mock

import psycopg
import pytest
from django.db import connection, connections

from bookings.middleware import API_MESSAGE, RETRY_AFTER_SECONDS
from bookings.models import Booking
from bookings.signals import booking_submitted
from integrations.models import Delivery
from tests.bookings.test_api import SECRET, body, post
from tests.bookings.test_views import form_data
from tests.factories import ApiKeyFactory, SalesforceConnectionFactory, SyncTargetFactory

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def api_key(tenant_a):
    return ApiKeyFactory(tenant=tenant_a, raw_key=SECRET)


@contextlib.contextmanager
def database_refusing_connections():
    """New connections are refused, as by a PostgreSQL that is restarting. Yields the
    patched connect, to show the code under test really went for the database."""
    refused = psycopg.OperationalError(
        'connection to server at "127.0.0.1", port 5432 failed: Connection refused'
    )
    connection.close()
    with mock.patch.object(
        connections["default"], "get_new_connection", side_effect=refused
    ) as connect:
        yield connect
    connection.close()


def assert_plain_booking_page_503(response):
    assert response.status_code == 503
    assert response["Retry-After"] == str(RETRY_AFTER_SECONDS)
    assert response["Content-Type"].startswith("text/html")
    html = response.content.decode()
    assert "We couldn't take your booking" in html
    assert "try again in a minute" in html
    assert "Traceback" not in html and "OperationalError" not in html


def test_public_page_answers_503_with_a_plain_page_while_the_database_is_down(
    client, booking_page, free_slot
):
    url = booking_page.get_absolute_url()
    with database_refusing_connections() as connect:
        shown = client.get(url)
        submitted = client.post(url, form_data(free_slot))
    assert connect.call_count >= 2

    assert_plain_booking_page_503(submitted)
    assert shown.status_code == 503 and shown["Retry-After"] == str(RETRY_AFTER_SECONDS)
    assert "try again in a minute" in shown.content.decode()
    assert "take your booking" not in shown.content.decode()  # nothing was submitted yet
    assert not Booking.objects.exists()


def test_api_answers_503_with_retry_after_and_json_while_the_database_is_down(
    client, booking_page, api_key, free_slot
):
    with database_refusing_connections() as connect:
        response = post(client, body(free_slot))
    assert connect.called

    assert response.status_code == 503
    assert response["Retry-After"] == str(RETRY_AFTER_SECONDS)
    assert response.json() == {"errors": {"service": [API_MESSAGE]}}


def test_admin_pages_say_try_again_without_mentioning_a_booking(client_for, superuser):
    client = client_for(superuser)
    with database_refusing_connections():
        response = client.get("/admin/")  # loading the session needs the database

    assert response.status_code == 503
    assert response["Retry-After"] == str(RETRY_AFTER_SECONDS)
    html = response.content.decode()
    assert "try again in a minute" in html and "take your booking" not in html


def test_booking_cut_off_by_a_lost_connection_is_not_half_saved(
    client, tenant_a, booking_page, api_key, free_slot
):
    """The server ends the session after the booking and its outbox rows were written,
    before the commit: the guest gets a 503 and neither row exists."""
    SalesforceConnectionFactory(tenant=tenant_a)
    SyncTargetFactory(page=booking_page)

    def terminate_backend(sender, booking, **kwargs):
        assert Delivery.objects.filter(booking=booking).exists()  # the outbox row is written
        pid = connection.connection.info.backend_pid
        with psycopg.connect(**connection.get_connection_params()) as killer:
            killer.execute("SELECT pg_terminate_backend(%s)", [pid])

    booking_submitted.connect(terminate_backend, dispatch_uid="test-terminate")
    try:
        page_response = client.post(booking_page.get_absolute_url(), form_data(free_slot))
        api_response = post(client, body(free_slot))
    finally:
        booking_submitted.disconnect(dispatch_uid="test-terminate")
    connection.close()

    assert_plain_booking_page_503(page_response)
    assert api_response.status_code == 503
    assert api_response["Retry-After"] == str(RETRY_AFTER_SECONDS)
    assert not Booking.objects.exists()
    assert not Delivery.objects.exists()
    # and once the database answers again, the same submission is taken
    assert post(client, body(free_slot)).status_code == 201
    assert Delivery.objects.filter(booking__starts_at=free_slot).count() == 1

"""The guest's manage link: signed, expiring with the meeting, cancel and reschedule
without login or JavaScript, CSRF on, rate-limited."""

import datetime
from unittest import mock

import pytest
from django.core import signing
from django.test import Client
from django.utils import timezone

from bookings.manage_links import SALT, manage_path, manage_token
from bookings.models import Booking, BookingChange, GuestEmail
from bookings.selectors import page_free_slots
from bookings.services import Guest, booking_submit
from tests.factories import BookingFactory, BookingPageFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def no_broker():
    with mock.patch("leadsync.enqueue.task_send", return_value=True) as send:
        yield send


@pytest.fixture
def booking(booking_page):
    return booking_submit(
        page=booking_page,
        slot=page_free_slots(booking_page)[0],
        guest=Guest(name="Ann Lee", email="ann@example.com", timezone="Asia/Tokyo"),
        answers={"company": "Acme"},
        url_params={},
    )


def test_the_page_shows_the_meeting_in_the_guests_zone(client, booking):
    response = client.get(manage_path(booking))
    assert response.status_code == 200
    tokyo = booking.starts_at.astimezone(datetime.timezone(datetime.timedelta(hours=9)))
    html = response.content.decode()
    assert f"{tokyo:%H:%M}" in html and "Asia/Tokyo" in html
    assert "Cancel the meeting" in html and "Move the meeting" in html
    # The picker: free times of the page as radio buttons, grouped by day (no JS needed).
    assert html.count('type="radio" name="slot"') == len(page_free_slots(booking.page))
    assert "<details" in html and "<script" not in html


def test_a_tampered_or_foreign_token_is_not_found(client, booking):
    token = manage_token(booking)
    page = booking.page
    base = f"/{page.tenant.slug}/{page.slug}/manage/"
    assert client.get(f"{base}{token[:-2]}xx/").status_code == 404
    forged = signing.dumps(booking.uid.hex, salt="another-salt")
    assert client.get(f"{base}{forged}/").status_code == 404
    # A genuine token under another page's address: not found either.
    other = BookingPageFactory(tenant=page.tenant, slug="other")
    response = client.get(f"/{page.tenant.slug}/{other.slug}/manage/{token}/")
    assert response.status_code == 404
    assert "Link not found" in response.content.decode()
    # The uid shown on the confirmation page is not a token.
    assert client.get(f"{base}{booking.uid}/").status_code == 404


def test_the_link_expires_when_the_meeting_ends(client, booking_page):
    past = BookingFactory(
        page=booking_page,
        starts_at=timezone.now() - datetime.timedelta(hours=1),
        ends_at=timezone.now() - datetime.timedelta(minutes=1),
    )
    response = client.get(manage_path(past))
    assert response.status_code == 410
    assert "This link has expired" in response.content.decode()
    # A meeting under way still shows (read-only).
    now = BookingFactory(
        page=booking_page,
        starts_at=timezone.now() - datetime.timedelta(minutes=5),
        ends_at=timezone.now() + datetime.timedelta(minutes=25),
    )
    response = client.get(manage_path(now))
    assert response.status_code == 200
    assert "already started" in response.content.decode()
    refused = client.post(manage_path(now), {"action": "cancel"})
    assert refused.status_code == 409
    assert "already started; it cannot be cancelled" in refused.content.decode()
    assert Booking.objects.get(pk=now.pk).cancelled_at is None


def test_the_guest_cancels_with_a_reason(client, booking):
    response = client.post(manage_path(booking), {"action": "cancel", "reason": " Sick "})
    assert response.status_code == 302
    assert response["Location"] == f"{manage_path(booking)}?done=cancelled"
    booking.refresh_from_db()
    assert booking.is_cancelled and booking.sequence == 1
    change = booking.changes.get(kind="cancelled")
    assert (change.actor, change.reason, change.user) == ("guest", "Sick", None)
    assert GuestEmail.objects.filter(booking=booking, kind="cancelled").exists()
    page = client.get(response["Location"]).content.decode()
    assert "This meeting is cancelled" in page and "Book another time" in page
    assert 'name="action"' not in page
    # Cancelling twice changes nothing more.
    client.post(manage_path(booking), {"action": "cancel"})
    assert booking.changes.filter(kind="cancelled").count() == 1


def test_a_too_long_reason_is_refused_and_kept(client, booking):
    reason = "x" * 1001
    response = client.post(manage_path(booking), {"action": "cancel", "reason": reason})
    assert response.status_code == 400
    assert "under 1000 characters" in response.content.decode()
    assert reason in response.content.decode()
    assert not Booking.objects.get(pk=booking.pk).is_cancelled


def test_the_guest_moves_the_meeting_and_the_old_slot_is_free(client, booking):
    old = booking.starts_at
    new = page_free_slots(booking.page)[3]
    response = client.post(manage_path(booking), {"action": "reschedule", "slot": new.isoformat()})
    assert response.status_code == 302
    booking.refresh_from_db()
    assert (booking.starts_at, booking.sequence) == (new, 1)
    change = booking.changes.get(kind="rescheduled")
    assert (change.actor, change.previous_starts_at) == ("guest", old)
    assert old in page_free_slots(booking.page)
    assert GuestEmail.objects.filter(booking=booking, kind="rescheduled", starts_at=new).exists()
    assert "Your meeting has moved" in client.get(response["Location"]).content.decode()
    # The link stays valid for the new time (the token does not carry the old one).
    assert client.get(manage_path(booking)).status_code == 200


def test_a_taken_slot_says_so_and_shows_the_picker_again(client, booking):
    taken = page_free_slots(booking.page)[2]
    BookingFactory(page=booking.page, starts_at=taken)  # booked while the guest chose
    response = client.post(
        manage_path(booking), {"action": "reschedule", "slot": taken.isoformat()}
    )
    assert response.status_code == 409
    html = response.content.decode()
    assert "just booked by someone else" in html
    assert html.count('type="radio" name="slot"') == len(page_free_slots(booking.page))
    assert taken.isoformat() not in html
    assert Booking.objects.get(pk=booking.pk).starts_at == booking.starts_at


def test_a_missing_or_malformed_slot_is_a_clear_error(client, booking):
    for data in ({"action": "reschedule"}, {"action": "reschedule", "slot": "tomorrow"}):
        response = client.post(manage_path(booking), data)
        assert response.status_code == 400
        assert "pick one of the free times" in response.content.decode()
    assert client.post(manage_path(booking), {"action": "other"}).status_code == 400
    assert not booking.changes.exclude(kind="booked").exists()


def test_csrf_is_enforced(booking):
    strict = Client(enforce_csrf_checks=True)
    assert strict.post(manage_path(booking), {"action": "cancel"}).status_code == 403
    page = strict.get(manage_path(booking))
    token = page.cookies["csrftoken"].value
    response = strict.post(manage_path(booking), {"action": "cancel", "csrfmiddlewaretoken": token})
    assert response.status_code == 302


def test_posts_are_rate_limited(client, booking, settings):
    settings.BOOKING_RATE_LIMIT_PER_IP = "2/m"
    for _ in range(2):
        assert client.post(manage_path(booking), {"action": "x"}).status_code == 400
    response = client.post(manage_path(booking), {"action": "cancel"})
    assert response.status_code == 429 and response["Retry-After"] == "60"
    assert not Booking.objects.get(pk=booking.pk).is_cancelled
    assert client.get(manage_path(booking)).status_code == 200  # looking is not limited


def test_the_page_speaks_the_pages_language(client, booking):
    booking.page.language = "ja"
    booking.page.save()
    html = client.get(manage_path(booking)).content.decode()
    assert '<html lang="ja">' in html and "ミーティングをキャンセルする" in html


def test_the_confirmation_page_links_to_manage(client, booking):
    page = booking.page
    html = client.get(f"/{page.tenant.slug}/{page.slug}/booked/{booking.uid}/").content.decode()
    assert manage_path(booking) in html


def test_the_token_is_the_signed_uid_with_its_own_salt(booking):
    assert signing.loads(manage_token(booking), salt=SALT) == booking.uid.hex
    assert BookingChange.objects.filter(booking=booking).count() == 1


def test_the_token_never_reaches_the_logs(client, booking, caplog):
    token = manage_token(booking)
    with caplog.at_level("INFO"):
        client.post(manage_path(booking), {"action": "reschedule", "slot": "bad"})  # a 400
        client.get(f"/acme/intro/manage/{token}x/")  # a 404
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "/manage/[token]" in logged
    assert token not in logged and token[:20] not in logged

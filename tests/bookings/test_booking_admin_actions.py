"""Staff cancel, reschedule and mark bookings on the booking's admin page; its history
and guest emails show there; another tenant's staff get 404."""

import datetime
from unittest import mock

import pytest
from django.urls import reverse
from django.utils import timezone

from bookings.models import Booking, GuestEmail
from bookings.selectors import page_free_slots
from bookings.services import booking_reschedule
from tests.factories import BookingFactory, GuestEmailFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def no_broker():
    with mock.patch("leadsync.enqueue.task_send", return_value=True):
        yield


@pytest.fixture
def booking(booking_page):
    return BookingFactory(page=booking_page, starts_at=page_free_slots(booking_page)[0])


@pytest.fixture
def past(booking_page):
    return BookingFactory(
        page=booking_page, starts_at=timezone.now() - datetime.timedelta(minutes=10)
    )


def url(name, booking):
    return reverse(f"admin:bookings_booking_{name}", args=[booking.pk])


def messages_of(response):
    return [str(m) for m in response.context["messages"]]


def test_a_member_cancels_with_a_reason(client_for, member_a, booking):
    client = client_for(member_a)
    response = client.post(url("cancel", booking), {"reason": "Host ill"}, follow=True)
    assert "The booking is cancelled." in messages_of(response)
    booking.refresh_from_db()
    assert booking.is_cancelled
    change = booking.changes.get(kind="cancelled")
    assert (change.actor, change.user, change.reason) == ("staff", member_a, "Host ill")
    assert GuestEmail.objects.filter(booking=booking, kind="cancelled").exists()
    html = response.content.decode()
    assert "Host ill" in html and "Cancelled (was" in html
    assert 'id="cancel-form"' not in html  # nothing more to change


def test_a_member_reschedules_to_a_free_slot(client_for, member_a, booking):
    new = page_free_slots(booking.page)[2]
    client = client_for(member_a)
    page = client.get(url("change", booking)).content.decode()
    assert f'value="{new.isoformat()}"' in page  # offered in the picker
    response = client.post(url("reschedule", booking), {"slot": new.isoformat()}, follow=True)
    assert "The booking is moved." in messages_of(response)
    booking.refresh_from_db()
    assert booking.starts_at == new and booking.sequence == 1
    assert "Moved from" in response.content.decode()


def test_staff_are_offered_the_times_next_to_the_meeting_but_not_its_own(
    client_for, member_a, booking_page
):
    """The page's buffers around the booking being moved hide nothing from staff either."""
    booking_page.buffer_before_minutes = booking_page.buffer_after_minutes = 30
    booking_page.save()
    slots = page_free_slots(booking_page)
    start = slots[len(slots) // 2]
    booking = BookingFactory(page=booking_page, starts_at=start)
    after = start + datetime.timedelta(minutes=30)
    assert after not in page_free_slots(booking_page)  # inside the buffer
    client = client_for(member_a)
    page = client.get(url("change", booking)).content.decode()
    assert f'<option value="{after.isoformat()}">' in page
    assert f'<option value="{start.isoformat()}">' not in page
    response = client.post(url("reschedule", booking), {"slot": after.isoformat()}, follow=True)
    assert "The booking is moved." in messages_of(response)
    assert Booking.objects.get(pk=booking.pk).starts_at == after


def test_a_taken_or_bad_slot_is_refused_with_the_reason(client_for, member_a, booking):
    client = client_for(member_a)
    other = BookingFactory(page=booking.page, starts_at=page_free_slots(booking.page)[1])
    response = client.post(
        url("reschedule", booking), {"slot": other.starts_at.isoformat()}, follow=True
    )
    assert "That time was just taken by another booking. Pick another." in messages_of(response)
    response = client.post(url("reschedule", booking), {"slot": "soon"}, follow=True)
    assert "Pick one of the free times." in messages_of(response)
    assert Booking.objects.get(pk=booking.pk).sequence == 0


def test_outcome_only_once_the_meeting_started(client_for, member_a, booking, past):
    client = client_for(member_a)
    response = client.post(url("outcome", booking), {"outcome": "no_show"}, follow=True)
    assert "This meeting has not started yet; mark it once it has." in messages_of(response)
    assert "once the meeting has started" in response.content.decode()
    assert Booking.objects.get(pk=booking.pk).outcome == ""
    page = client.get(url("change", past)).content.decode()
    assert "Mark no-show" in page
    response = client.post(url("outcome", past), {"outcome": "no_show"}, follow=True)
    assert "Marked no-show." in messages_of(response)
    past.refresh_from_db()
    assert past.outcome == "no_show"
    assert past.changes.get(kind="no_show").user == member_a
    assert not GuestEmail.objects.filter(booking=past).exists()
    assert "Marked no-show" in response.content.decode()


def test_the_history_shows_who_moved_it_from_where_to_where(client_for, admin_a, booking):
    new = page_free_slots(booking.page)[3]
    booking_reschedule(booking=booking, slot=new, actor="guest", reason="Clash")
    html = client_for(admin_a).get(url("change", booking)).content.decode()
    assert 'id="booking-history"' in html
    assert "Guest" in html and "Clash" in html
    berlin = new.astimezone(datetime.timezone(datetime.timedelta(hours=1)))
    assert f"{berlin:%H:%M}" in html or f"{new.astimezone(datetime.UTC):%H:%M}" in html


def test_failed_emails_show_with_their_error_and_can_be_resent(client_for, member_a, booking):
    failed = GuestEmailFactory(booking=booking, status="failed", last_error="550 No such user")
    GuestEmailFactory(booking=booking, kind="reminder", status="sent")
    client = client_for(member_a)
    html = client.get(url("change", booking)).content.decode()
    assert "550 No such user" in html
    assert html.count('value="Resend"') == 1
    resend = reverse("admin:bookings_guestemail_resend", args=[failed.pk])
    response = client.post(resend, follow=True)
    assert "The email is queued to resend." in messages_of(response)
    failed.refresh_from_db()
    assert failed.status == "pending" and failed.attempts == 0


def test_the_admin_home_and_the_email_list_show_failures(client_for, member_a, booking, tenant_b):
    GuestEmailFactory(booking=booking, status="failed", last_error="boom")
    GuestEmailFactory(booking__page__tenant=tenant_b, status="failed")  # not theirs
    client = client_for(member_a)
    home = client.get(reverse("admin:index")).content.decode()
    assert 'id="guest-emails-failed"' in home and "1 failed" in home
    listing = client.get(reverse("admin:bookings_guestemail_changelist") + "?status=failed")
    assert listing.context["cl"].result_count == 1


def test_another_tenants_staff_get_404_and_change_nothing(client_for, admin_b, booking, past):
    email = GuestEmailFactory(booking=booking, status="failed")
    client = client_for(admin_b)
    new = page_free_slots(booking.page)[2].isoformat()
    assert client.post(url("cancel", booking), {"reason": "x"}).status_code == 404
    assert client.post(url("reschedule", booking), {"slot": new}).status_code == 404
    assert client.post(url("outcome", past), {"outcome": "completed"}).status_code == 404
    resend = reverse("admin:bookings_guestemail_resend", args=[email.pk])
    assert client.post(resend).status_code == 404
    booking.refresh_from_db()
    past.refresh_from_db()
    email.refresh_from_db()
    assert not booking.is_cancelled and booking.sequence == 0 and past.outcome == ""
    assert email.status == "failed"


def test_actions_need_post(client_for, member_a, booking):
    assert client_for(member_a).get(url("cancel", booking)).status_code == 405
    assert not Booking.objects.get(pk=booking.pk).is_cancelled


def test_bulk_resend_only_reaches_the_users_tenants(client_for, admin_b, booking):
    theirs = GuestEmailFactory(booking=booking, status="failed")
    own = GuestEmailFactory(booking__page__tenant=admin_b.memberships.get().tenant, status="failed")
    response = client_for(admin_b).post(
        reverse("admin:bookings_guestemail_changelist"),
        {"action": "resend_selected", "_selected_action": [theirs.pk, own.pk]},
        follow=True,
    )
    assert "1 email(s) queued to resend." in messages_of(response)
    theirs.refresh_from_db()
    own.refresh_from_db()
    assert (theirs.status, own.status) == ("failed", "pending")

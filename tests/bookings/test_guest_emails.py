"""Guest emails: recorded with each change, claimed before sending, sent at most once,
retried when transient, failed visibly, reminders once per meeting time."""

import datetime
import smtplib
from unittest import mock

import icalendar
import pytest
from django.core import mail
from django.db import IntegrityError, transaction
from django.utils import timezone

from bookings import guest_emails
from bookings.guest_emails import (
    DRAIN_TASK,
    guest_email_claim,
    guest_email_send,
    guest_emails_drain,
    guest_emails_sweep,
)
from bookings.models import BookingChange, GuestEmail
from bookings.selectors import page_free_slots
from bookings.services import (
    Guest,
    booking_cancel,
    booking_outcome_mark,
    booking_reschedule,
    booking_submit,
)
from tests.factories import BookingFactory

pytestmark = pytest.mark.django_db

ANN = Guest(name="Ann Lee", email="ann@example.com", timezone="Asia/Tokyo")
ANSWERS = {"company": "Acme", "meeting_type": "Demo"}


@pytest.fixture
def enqueued():
    """Task names and ids enqueued (the broker is never reached). A drain runs and ends at
    once: its marker goes, so each step's request shows."""
    sent = []

    def task_send(name, *args):
        sent.append((name, *args))
        if name == DRAIN_TASK:
            guest_emails._drain_ended()
        return True

    with mock.patch("leadsync.enqueue.task_send", side_effect=task_send):
        yield sent


def book(page, slot, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        return booking_submit(page=page, slot=slot, guest=ANN, answers=ANSWERS, url_params={})


def test_booking_records_a_confirmation_and_enqueues_it_on_commit(
    booking_page, free_slot, enqueued, django_capture_on_commit_callbacks
):
    booking = book(booking_page, free_slot, django_capture_on_commit_callbacks)
    email = GuestEmail.objects.get(booking=booking)
    assert (email.kind, email.status, email.recipient) == ("confirmation", "pending", ANN.email)
    assert email.change.kind == BookingChange.Kind.BOOKED
    assert email.starts_at == free_slot
    assert enqueued == [(DRAIN_TASK,)]


def test_a_broker_outage_does_not_fail_the_booking(
    booking_page, free_slot, django_capture_on_commit_callbacks
):
    broken = mock.Mock(side_effect=ConnectionError("redis is down"))
    with mock.patch("celery.current_app.signature", return_value=mock.Mock(apply_async=broken)):
        booking = book(booking_page, free_slot, django_capture_on_commit_callbacks)
    assert broken.called
    assert GuestEmail.objects.get(booking=booking).status == "pending"
    # ...and the sweep asks for a drain later (the failed request left no marker behind).
    with mock.patch("leadsync.enqueue.task_send") as send:
        assert guest_emails_sweep()["due"] == 1
    send.assert_called_once_with(DRAIN_TASK)


def test_reschedule_and_cancel_each_record_an_email_no_show_none(
    booking_page, enqueued, django_capture_on_commit_callbacks
):
    first, second = page_free_slots(booking_page)[:2]
    booking = book(booking_page, first, django_capture_on_commit_callbacks)
    booking_reschedule(booking=booking, slot=second, actor="guest")
    booking_cancel(booking=booking, actor="staff", reason="Host ill")
    kinds = list(GuestEmail.objects.order_by("pk").values_list("kind", "starts_at"))
    assert kinds == [("confirmation", first), ("rescheduled", second), ("cancelled", second)]
    past = BookingFactory(page=booking_page, starts_at=timezone.now() - datetime.timedelta(hours=1))
    booking_outcome_mark(booking=past, outcome="no_show")
    booking_outcome_mark(booking=past, outcome="completed")
    assert not GuestEmail.objects.filter(booking=past).exists()


def test_send_delivers_text_html_and_ics_and_marks_it_sent(
    booking_page, free_slot, enqueued, django_capture_on_commit_callbacks
):
    booking = book(booking_page, free_slot, django_capture_on_commit_callbacks)
    email = GuestEmail.objects.get()
    assert guest_email_send(email_id=email.pk).status == "sent"
    email.refresh_from_db()
    assert (email.status, email.attempts, email.last_error) == ("sent", 1, "")
    assert email.sent_at is not None
    [message] = mail.outbox
    assert message.to == [ANN.email]
    assert message.subject == "Booked: Intro call"
    start_tokyo = free_slot.astimezone(datetime.timezone(datetime.timedelta(hours=9)))
    assert f"{start_tokyo:%H:%M}" in message.body and "Asia/Tokyo" in message.body
    assert "/acme/intro/manage/" in message.body
    html, mimetype = message.alternatives[0]
    assert mimetype == "text/html" and "/acme/intro/manage/" in html
    [ics_part] = [p for p in message.message().walk() if p.get_content_type() == "text/calendar"]
    assert ics_part.get_param("method") == "REQUEST"
    calendar = icalendar.Calendar.from_ical(ics_part.get_payload(decode=True))
    [event] = calendar.walk("VEVENT")
    assert str(event["uid"]) == f"{booking.uid}@leadsync"
    assert event["sequence"] == 0


def test_a_second_send_or_a_second_worker_never_sends_twice(
    booking_page, free_slot, enqueued, django_capture_on_commit_callbacks
):
    book(booking_page, free_slot, django_capture_on_commit_callbacks)
    email = GuestEmail.objects.get()
    assert guest_email_claim(email_id=email.pk) is not None
    # Another worker (or a redelivered message) finds it taken while it is being sent.
    assert guest_email_claim(email_id=email.pk) is None
    assert guest_email_send(email_id=email.pk).status == "not_claimed"
    GuestEmail.objects.filter(pk=email.pk).update(status="pending")
    assert guest_email_send(email_id=email.pk).status == "sent"
    assert guest_email_send(email_id=email.pk).status == "not_claimed"
    assert len(mail.outbox) == 1


def test_a_transient_failure_is_retried_later_with_backoff(
    booking_page, free_slot, enqueued, settings, django_capture_on_commit_callbacks
):
    settings.GUEST_EMAIL_RETRY_DELAYS = [60, 600]
    book(booking_page, free_slot, django_capture_on_commit_callbacks)
    email = GuestEmail.objects.get()
    down = ConnectionRefusedError(111, "Connection refused")
    with mock.patch("django.core.mail.EmailMessage.send", side_effect=down) as send:
        before = timezone.now()
        assert guest_email_send(email_id=email.pk).status == "pending"
        email.refresh_from_db()
        assert email.attempts == 1 and "Could not reach the mail server" in email.last_error
        assert email.next_attempt_at >= before + datetime.timedelta(seconds=60)
        # Not due yet: neither a task nor the sweep sends it.
        assert guest_email_send(email_id=email.pk).status == "not_claimed"
        GuestEmail.objects.update(next_attempt_at=timezone.now())
        assert guest_email_send(email_id=email.pk).status == "pending"
        email.refresh_from_db()
        assert email.next_attempt_at >= timezone.now() + datetime.timedelta(seconds=590)
        GuestEmail.objects.update(next_attempt_at=timezone.now())
        # Delays used up: failed, for staff to see.
        assert guest_email_send(email_id=email.pk).status == "failed"
    assert send.call_count == 3
    email.refresh_from_db()
    assert (email.status, email.attempts) == ("failed", 3)
    assert "Connection refused" in email.last_error


def test_a_permanent_refusal_fails_at_once_and_resend_sends_it(
    booking_page, free_slot, enqueued, django_capture_on_commit_callbacks
):
    book(booking_page, free_slot, django_capture_on_commit_callbacks)
    email = GuestEmail.objects.get()
    refused = smtplib.SMTPRecipientsRefused({ANN.email: (550, b"No such user")})
    with mock.patch("django.core.mail.EmailMessage.send", side_effect=refused):
        assert guest_email_send(email_id=email.pk).status == "failed"
    email.refresh_from_db()
    assert email.status == "failed" and "550" in email.last_error
    enqueued.clear()
    with django_capture_on_commit_callbacks(execute=True):
        assert guest_emails.guest_email_resend(emails=GuestEmail.objects.all()) == 1
    assert enqueued == [(DRAIN_TASK,)]
    assert guest_email_send(email_id=email.pk).status == "sent"
    assert len(mail.outbox) == 1


def test_smtp_4xx_is_transient_5xx_permanent(
    booking_page, free_slot, enqueued, django_capture_on_commit_callbacks
):
    book(booking_page, free_slot, django_capture_on_commit_callbacks)
    email = GuestEmail.objects.get()
    busy = smtplib.SMTPDataError(451, b"Try again later")
    with mock.patch("django.core.mail.EmailMessage.send", side_effect=busy):
        assert guest_email_send(email_id=email.pk).status == "pending"
    GuestEmail.objects.update(next_attempt_at=timezone.now())
    bad = smtplib.SMTPSenderRefused(553, b"Sender not allowed", "noreply@leadsync.local")
    with mock.patch("django.core.mail.EmailMessage.send", side_effect=bad):
        assert guest_email_send(email_id=email.pk).status == "failed"


def test_emails_of_one_booking_go_out_in_order(
    booking_page, enqueued, django_capture_on_commit_callbacks
):
    booking = book(
        booking_page, page_free_slots(booking_page)[0], django_capture_on_commit_callbacks
    )
    booking_cancel(booking=booking, actor="guest")
    confirmation, cancellation = GuestEmail.objects.order_by("pk")
    # The cancellation waits for the confirmation...
    assert guest_email_send(email_id=cancellation.pk).status == "not_claimed"
    enqueued.clear()
    assert guest_email_send(email_id=confirmation.pk).status == "sent"
    # ...which hands on to it once sent (a drain sends it).
    assert enqueued == [(DRAIN_TASK,)]
    assert guest_email_send(email_id=cancellation.pk).status == "sent"
    assert [m.subject for m in mail.outbox] == ["Booked: Intro call", "Cancelled: Intro call"]
    ics = mail.outbox[1].message().get_payload()[-1]
    assert ics.get_param("method") == "CANCEL"
    event = icalendar.Calendar.from_ical(ics.get_payload(decode=True)).walk("VEVENT")[0]
    assert (str(event["status"]), event["sequence"]) == ("CANCELLED", 1)


def test_a_worker_lost_mid_send_is_marked_failed_not_sent_again(
    booking_page, free_slot, enqueued, django_capture_on_commit_callbacks
):
    book(booking_page, free_slot, django_capture_on_commit_callbacks)
    email = GuestEmail.objects.get()
    guest_email_claim(email_id=email.pk)  # ...and the worker dies here
    assert guest_emails_sweep()["lost"] == 0  # still within the send's time limit
    later = timezone.now() + datetime.timedelta(minutes=11)
    with mock.patch("leadsync.enqueue.task_send") as send:
        assert guest_emails_sweep(now=later)["lost"] == 1
    send.assert_not_called()
    email.refresh_from_db()
    assert email.status == "failed" and "may or may not" in email.last_error
    assert mail.outbox == []


def test_the_email_speaks_the_pages_language(
    booking_page, free_slot, enqueued, django_capture_on_commit_callbacks
):
    booking_page.language = "ja"
    booking_page.save()
    book(booking_page, free_slot, django_capture_on_commit_callbacks)
    guest_email_send(email_id=GuestEmail.objects.get().pk)
    [message] = mail.outbox
    assert message.subject == "予約完了: Intro call"
    assert "Ann Lee 様" in message.body
    assert "年" in message.body and "Asia/Tokyo" in message.body
    assert 'lang="ja"' in message.alternatives[0][0]


# --- Reminders ----------------------------------------------------------------------


def meeting_in(page, hours: float, *, booked_hours_ago: float = 48, **kwargs):
    """A booking starting `hours` from now, booked `booked_hours_ago` ago (history too)."""
    starts = timezone.now() + datetime.timedelta(hours=hours)
    booking = BookingFactory(page=page, starts_at=starts, **kwargs)
    change = BookingChange.objects.create(
        booking=booking,
        kind="booked",
        actor="guest",
        starts_at=booking.starts_at,
        ends_at=booking.ends_at,
        sequence=0,
    )
    booked = timezone.now() - datetime.timedelta(hours=booked_hours_ago)
    BookingChange.objects.filter(pk=change.pk).update(created_at=booked)
    return booking


def test_a_burst_of_bookings_asks_for_one_drain_which_sends_each_once_in_order(
    booking_page, django_capture_on_commit_callbacks
):
    slots = page_free_slots(booking_page)[:3]
    with mock.patch("leadsync.enqueue.task_send", return_value=True) as send:
        booked = [book(booking_page, slot, django_capture_on_commit_callbacks) for slot in slots]
        with django_capture_on_commit_callbacks(execute=True):
            booking_cancel(booking=booked[0], actor="guest")
    send.assert_called_once_with(DRAIN_TASK)  # one drain for the four emails
    assert guest_emails_drain() == 4
    assert set(GuestEmail.objects.values_list("status", flat=True)) == {"sent"}
    subjects = [m.subject for m in mail.outbox if m.to == [ANN.email]]
    assert subjects.index("Cancelled: Intro call") > 0  # after booked[0]'s confirmation
    assert len(mail.outbox) == 4
    assert guest_emails_drain() == 0  # nothing twice
    with mock.patch("leadsync.enqueue.task_send", return_value=True) as send:
        book(booking_page, page_free_slots(booking_page)[0], django_capture_on_commit_callbacks)
    send.assert_called_once_with(DRAIN_TASK)  # the drain ended: the next email asks anew


def test_emails_recorded_while_a_drain_is_queued_or_running_are_left_to_it(
    booking_page, django_capture_on_commit_callbacks
):
    first, second = page_free_slots(booking_page)[:2]
    with mock.patch("leadsync.enqueue.task_send", return_value=True) as send:
        book(booking_page, first, django_capture_on_commit_callbacks)
        send.assert_called_once_with(DRAIN_TASK)
        real_send = guest_emails.guest_email_send

        def send_and_book_meanwhile(**kwargs):  # a booking commits while the drain runs
            if not GuestEmail.objects.filter(recipient="bo@example.com").exists():
                with django_capture_on_commit_callbacks(execute=True):
                    booking_submit(
                        page=booking_page, slot=second, answers=ANSWERS, url_params={},
                        guest=Guest(name="Bo", email="bo@example.com"),
                    )  # fmt: skip
            return real_send(**kwargs)

        with mock.patch.object(guest_emails, "guest_email_send", send_and_book_meanwhile):
            assert guest_emails_drain() == 2  # the running drain sent the new one too
        assert send.call_count == 1  # ...so it asked for no other
    assert sorted(m.to[0] for m in mail.outbox) == [ANN.email, "bo@example.com"]


def test_a_drain_past_its_share_asks_for_the_next(
    booking_page, enqueued, django_capture_on_commit_callbacks
):
    for slot in page_free_slots(booking_page)[:2]:
        book(booking_page, slot, django_capture_on_commit_callbacks)
    enqueued.clear()
    assert guest_emails_drain(seconds=0) == 1  # its share is used up after one
    assert enqueued == [(DRAIN_TASK,)]
    assert GuestEmail.objects.filter(status="pending").count() == 1
    assert guest_emails_drain() == 1


def test_a_due_reminder_is_sent_once_even_when_two_beats_sweep(booking_page, enqueued):
    booking = meeting_in(booking_page, 20)  # default: 24 h before
    meeting_in(booking_page, 30)  # not due yet
    with mock.patch("leadsync.enqueue.task_send") as send:
        first = guest_emails_sweep()
        second = guest_emails_sweep()  # a second beat, a minute later or at once
    assert (first["reminders"], second["reminders"]) == (1, 0)
    reminder = GuestEmail.objects.get(kind="reminder")
    assert reminder.booking == booking and reminder.starts_at == booking.starts_at
    assert send.call_count == 1  # the second sweep finds the first's drain still queued
    assert guest_email_send(email_id=reminder.pk).status == "sent"
    assert guest_email_send(email_id=reminder.pk).status == "not_claimed"
    assert [m.subject for m in mail.outbox] == [f"Reminder: {booking_page.title}"]


def test_the_database_refuses_a_second_reminder_for_the_same_time(booking_page):
    booking = meeting_in(booking_page, 2)
    assert guest_emails.guest_email_reminders_create() == 1
    # Two sweeps that both saw "no reminder yet" and insert at once: the index decides.
    with pytest.raises(IntegrityError), transaction.atomic():
        GuestEmail.objects.create(
            booking=booking, kind="reminder", recipient="x@example.com", starts_at=booking.starts_at
        )
    assert GuestEmail.objects.filter(kind="reminder").count() == 1


def test_no_reminder_for_cancelled_off_marked_or_too_late_bookings(booking_page):
    meeting_in(booking_page, 2, cancelled_at=timezone.now())
    meeting_in(booking_page, 2, booked_hours_ago=1)  # booked after its reminder time
    quiet = type(booking_page).objects.get(pk=booking_page.pk)
    quiet.pk, quiet.slug, quiet.reminder_enabled = None, "quiet", False
    quiet.save()
    meeting_in(quiet, 2)
    assert guest_emails.guest_email_reminders_create() == 0


def test_a_page_can_remind_an_hour_before(booking_page):
    booking_page.reminder_minutes = 60
    booking_page.save()
    meeting_in(booking_page, 2)
    assert guest_emails.guest_email_reminders_create() == 0
    later = timezone.now() + datetime.timedelta(minutes=61)
    assert guest_emails.guest_email_reminders_create(now=later) == 1


def test_a_moved_meeting_gets_a_reminder_for_its_new_time(booking_page, enqueued):
    booking = meeting_in(booking_page, 20)
    guest_emails.guest_email_reminders_create()
    old = GuestEmail.objects.get(kind="reminder")
    new_start = booking.starts_at + datetime.timedelta(hours=2)
    booking.starts_at, booking.ends_at = new_start, new_start + datetime.timedelta(minutes=30)
    booking.save()
    # The reminder for the old time is skipped, not sent...
    assert guest_email_send(email_id=old.pk).status == "skipped"
    # ...and the new time gets its own (rescheduled long before its reminder time).
    BookingChange.objects.create(
        booking=booking, kind="rescheduled", actor="guest", starts_at=booking.starts_at,
        ends_at=booking.ends_at, sequence=1,
    )  # fmt: skip
    BookingChange.objects.filter(kind="rescheduled").update(
        created_at=timezone.now() - datetime.timedelta(hours=10)
    )
    assert guest_emails.guest_email_reminders_create() == 1
    assert GuestEmail.objects.filter(kind="reminder", starts_at=new_start).exists()
    assert mail.outbox == []


def test_a_reminder_of_a_meeting_cancelled_meanwhile_is_skipped(booking_page, enqueued):
    booking = meeting_in(booking_page, 20)
    guest_emails.guest_email_reminders_create()
    booking_cancel(booking=booking, actor="guest")
    reminder = GuestEmail.objects.get(kind="reminder")
    assert guest_email_send(email_id=reminder.pk).status == "skipped"
    reminder.refresh_from_db()
    assert reminder.status == "skipped" and "cancelled" in reminder.last_error


# --- Tasks --------------------------------------------------------------------------


def test_tasks_are_registered_by_name_and_beat_sweeps_every_minute(settings):
    from leadsync.celery import app

    app.loader.import_default_modules()  # what a worker does at start (autodiscovery)
    names = {
        "bookings.guest_email_send",
        "bookings.guest_emails_drain",
        "bookings.guest_emails_sweep",
    }
    assert names <= set(app.tasks)
    assert settings.CELERY_BEAT_SCHEDULE["guest-emails-sweep"] == {
        "task": "bookings.guest_emails_sweep",
        "schedule": 60,
    }


def test_the_send_task_runs_the_service_and_is_safe_twice(booking_page, enqueued):
    from bookings import tasks

    booking = meeting_in(booking_page, 20)
    assert tasks.guest_emails_sweep.apply().get()["reminders"] == 1
    reminder = GuestEmail.objects.get(booking=booking)
    assert tasks.guest_email_send.apply(args=[reminder.pk]).get() == "sent"
    assert tasks.guest_email_send.apply(args=[reminder.pk]).get() == "not_claimed"
    assert tasks.guest_emails_drain.apply().get() == 0
    assert len(mail.outbox) == 1


@pytest.mark.django_db(transaction=True)
def test_two_workers_racing_send_it_once(booking_page):
    """Two threads, two database connections, one row: the conditional UPDATE lets one in."""
    import threading

    from django.db import connection

    booking = meeting_in(booking_page, 20)
    email = GuestEmail.objects.create(
        booking=booking, kind="reminder", recipient="ann@example.com", starts_at=booking.starts_at
    )
    barrier = threading.Barrier(8)
    outcomes = []

    def worker():
        try:
            barrier.wait()
            outcomes.append(guest_email_send(email_id=email.pk).status)
        finally:
            connection.close()

    with mock.patch("leadsync.enqueue.task_send", return_value=True):
        threads = [threading.Thread(target=worker) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)
    assert sorted(outcomes) == ["not_claimed"] * 7 + ["sent"]
    assert len(mail.outbox) == 1

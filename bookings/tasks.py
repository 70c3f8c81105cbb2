"""Celery tasks of the booking site (thin: call a service, safe to run twice).

bookings.guest_emails_drain()         send every due guest email (asked for on commit)
bookings.guest_email_send(email_id)   claim and send one guest email (kept: messages queued
                                      before the drain existed still run)
bookings.guest_emails_sweep()         beat, every minute: reminders, lost enqueues, retries

Services enqueue these by name (leadsync.enqueue); the names never change.
"""

from __future__ import annotations

from celery import shared_task

from bookings import guest_emails


@shared_task(name="bookings.guest_email_send")
def guest_email_send(email_id: int) -> str:
    """Send guest email `email_id` unless it is taken, done or not due. Returns its status."""
    return guest_emails.guest_email_send(email_id=email_id).status


@shared_task(name="bookings.guest_emails_drain")
def guest_emails_drain() -> int:
    """Send the due guest emails (a share of them; then another drain). Returns how many."""
    return guest_emails.guest_emails_drain()


@shared_task(name="bookings.guest_emails_sweep")
def guest_emails_sweep() -> dict[str, int]:
    """Create due reminders and ask for a drain of due emails. Returns counts."""
    return guest_emails.guest_emails_sweep()

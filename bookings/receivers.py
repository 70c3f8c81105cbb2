"""Bookings' own subscribers:

- to its signals: the guest emails of each change, recorded in the change's transaction
  (an outbox), sent after commit by bookings.tasks;
- to the saves and deletes of what a public page shows: its cached HTML renders anew
  (bookings.page_cache); and of API keys, which processes keep with the page's rows.
"""

from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from bookings import guest_emails, page_cache
from bookings.models import (
    ApiKey,
    AvailabilityWindow,
    Booking,
    BookingChange,
    BookingPage,
    DateOverride,
    Question,
    Tenant,
)
from bookings.signals import booking_changed, booking_submitted


@receiver(booking_submitted, sender=Booking, dispatch_uid="bookings.guest_email_confirmation")
def guest_email_on_submit(sender, booking: Booking, change: BookingChange, **kwargs) -> None:
    guest_emails.guest_email_record(change=change)


@receiver(booking_changed, sender=Booking, dispatch_uid="bookings.guest_email_change")
def guest_email_on_change(sender, change: BookingChange, **kwargs) -> None:
    guest_emails.guest_email_record(change=change)


#: Booking fields that decide which times it blocks; a save of others changes no page.
BLOCKING_FIELDS = frozenset({"page", "page_id", "starts_at", "ends_at", "cancelled_at"})


@receiver(post_save, sender=Booking, dispatch_uid="bookings.page_cache_booking_saved")
@receiver(post_delete, sender=Booking, dispatch_uid="bookings.page_cache_booking_deleted")
def page_cache_on_booking(sender, instance: Booking, update_fields=None, **kwargs) -> None:
    if update_fields is not None and not BLOCKING_FIELDS.intersection(update_fields):
        return
    if Booking.page.is_cached(instance):
        host_id = instance.page.host_id
    else:
        pages = BookingPage.objects.filter(pk=instance.page_id)
        host_id = pages.values_list("host_id", flat=True).first()
    page_cache.slots_changed(host_id=host_id, page_id=instance.page_id)


@receiver(post_save, sender=Tenant, dispatch_uid="bookings.page_cache_tenant_saved")
@receiver(post_delete, sender=Tenant, dispatch_uid="bookings.page_cache_tenant_deleted")
def page_cache_on_tenant(sender, instance: Tenant, **kwargs) -> None:
    page_cache.config_changed(instance.pk)


@receiver(post_save, sender=BookingPage, dispatch_uid="bookings.page_cache_page_saved")
@receiver(post_delete, sender=BookingPage, dispatch_uid="bookings.page_cache_page_deleted")
def page_cache_on_page(sender, instance: BookingPage, **kwargs) -> None:
    page_cache.config_changed(instance.tenant_id)


@receiver(post_save, sender=Question, dispatch_uid="bookings.page_cache_question_saved")
@receiver(post_delete, sender=Question, dispatch_uid="bookings.page_cache_question_deleted")
@receiver(post_save, sender=AvailabilityWindow, dispatch_uid="bookings.page_cache_window_saved")
@receiver(post_delete, sender=AvailabilityWindow, dispatch_uid="bookings.page_cache_window_deleted")
@receiver(post_save, sender=DateOverride, dispatch_uid="bookings.page_cache_override_saved")
@receiver(post_delete, sender=DateOverride, dispatch_uid="bookings.page_cache_override_deleted")
def page_cache_on_page_part(sender, instance, **kwargs) -> None:
    if sender.page.is_cached(instance):
        tenant_id = instance.page.tenant_id
    else:
        pages = BookingPage.objects.filter(pk=instance.page_id)
        tenant_id = pages.values_list("tenant_id", flat=True).first()
    if tenant_id is not None:  # None: the page is gone too, which bumped its tenant
        page_cache.config_changed(tenant_id)


@receiver(post_save, sender=ApiKey, dispatch_uid="bookings.page_cache_api_key_saved")
@receiver(post_delete, sender=ApiKey, dispatch_uid="bookings.page_cache_api_key_deleted")
def page_cache_on_api_key(sender, instance: ApiKey, **kwargs) -> None:
    """A key created, revoked or deleted: processes that keep keys read them again
    (page_cache.api_key_for), as they read their pages' rows."""
    page_cache.config_changed(instance.tenant_id)

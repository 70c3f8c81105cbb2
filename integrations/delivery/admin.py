"""A booking's deliveries on the booking's admin page: status, the Salesforce record
("Open in Salesforce"), attempts, last error, and a link to the delivery's own page.

bookings' BookingAdmin knows nothing of integrations (bookings never imports it), so it is
extended here: the Booking registration is replaced by a subclass adding a read-only
inline. The Delivery admin itself (attempts, payload) is the dashboard's
(integrations.dashboard.admin); it is linked to, not registered, here.
"""

from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest
from django.urls import NoReverseMatch, reverse
from django.utils.html import format_html

from bookings.admin_a11y import LabelledTabularInline
from bookings.admin_pages import BookingAdmin
from bookings.admin_scoping import TenantScopedInlineMixin
from bookings.models import Booking
from integrations.delivery.selectors import delivery_record_url
from integrations.models import Delivery


class DeliveryInline(TenantScopedInlineMixin, LabelledTabularInline):
    """Read-only: deliveries move only through the pipeline's services."""

    model = Delivery
    fk_name = "booking"
    extra = 0
    can_delete = False
    verbose_name = "Salesforce delivery"
    verbose_name_plural = "Salesforce deliveries"
    fields = [
        "sobject", "what", "status", "record", "attempts", "last_error", "sent_at", "details",
    ]  # fmt: skip
    readonly_fields = fields

    def get_queryset(self, request: HttpRequest):
        return (
            super()
            .get_queryset(request)
            .select_related("connection", "change")
            .order_by("kind", "change_id", "pk")  # the post, then its write-backs in order
        )

    @admin.display(description="What")
    def what(self, delivery: Delivery) -> str:
        """The post, or the write-back of which change (its history is on this page)."""
        if delivery.is_write_back and delivery.change_id:
            return f"Write-back: {delivery.change.get_kind_display().lower()}"
        return "Post"

    def has_add_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    @admin.display(description="Salesforce record")
    def record(self, delivery: Delivery) -> str:
        url = delivery_record_url(delivery)
        if not url:
            return "—"
        return format_html(
            '<a href="{}" target="_blank" rel="noopener">{}</a> (Open in Salesforce)',
            url,
            delivery.sf_record_id,
        )

    @admin.display(description="Last error")
    def last_error(self, delivery: Delivery) -> str:
        if not delivery.last_error_code:
            return "—"
        fields = ", ".join(delivery.last_error_fields or [])
        return format_html(
            "<strong>{}</strong> {}{}",
            delivery.last_error_code,
            delivery.last_error_message,
            f" (fields: {fields})" if fields else "",
        )

    @admin.display(description="Details")
    def details(self, delivery: Delivery) -> str:
        """Attempts and payload live on the delivery's own admin page (the dashboard's)."""
        try:
            url = reverse("admin:integrations_delivery_change", args=[delivery.pk])
        except NoReverseMatch:
            return f"Delivery {delivery.pk}"
        return format_html('<a href="{}">Attempts and payload</a>', url)


admin.site.unregister(Booking)


@admin.register(Booking)
class BookingWithDeliveriesAdmin(BookingAdmin):
    """bookings' BookingAdmin, plus where each booking went in Salesforce."""

    inlines = [*BookingAdmin.inlines, DeliveryInline]

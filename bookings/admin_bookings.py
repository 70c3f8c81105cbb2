"""Staff actions on one booking (cancel, reschedule, mark no-show / completed), its history
and its guest emails, on the booking's admin page; and the guest email log.

Members and admins of the booking's tenant may act; another tenant's booking is 404 (the
object is looked up through the scoped queryset). The services decide what is allowed and
say why not (BookingClosed); the admin only shows their message.
"""

from __future__ import annotations

import datetime
import itertools
import zoneinfo

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.text import Truncator
from django.views.decorators.http import require_POST

from bookings import guest_emails, services
from bookings.admin_scoping import ReadOnlyAdminMixin, TenantScopedAdmin
from bookings.models import Booking, BookingChange, GuestEmail
from bookings.selectors import booking_history, booking_move_slots

REASON_MAX = 1000


def _local(value: datetime.datetime | None, zone) -> str:
    return f"{value.astimezone(zone):%a %d %b %Y, %H:%M}" if value else "—"


def history_rows(booking: Booking, zone) -> list[dict]:
    """Each change as staff read it: when, what, by whom, why."""
    rows = []
    for change in booking_history(booking):
        what = {
            BookingChange.Kind.BOOKED: f"Booked for {_local(change.starts_at, zone)}",
            BookingChange.Kind.RESCHEDULED: (
                f"Moved from {_local(change.previous_starts_at, zone)} "
                f"to {_local(change.starts_at, zone)}"
            ),
            BookingChange.Kind.CANCELLED: f"Cancelled (was {_local(change.starts_at, zone)})",
        }.get(change.kind, change.get_kind_display())
        who = change.get_actor_display()
        if change.user is not None:
            who = f"{who}: {change.user.get_full_name() or change.user.get_username()}"
        rows.append(
            {
                "when": _local(change.created_at, zone),
                "what": what,
                "who": who,
                "why": change.reason,
            }
        )
    return rows


def slot_groups(booking: Booking, zone) -> list[tuple[str, list[tuple[str, str]]]]:
    """The times `booking` may move to, for a <select>, grouped by day in `zone`: its
    page's free times with the booking itself blocking nothing, less its current time."""
    free = booking_move_slots(booking)
    groups = []
    for day, slots in itertools.groupby(free, key=lambda s: s.astimezone(zone).date()):
        options = [(s.isoformat(), f"{s.astimezone(zone):%H:%M}") for s in slots]
        groups.append((f"{day:%a %d %b %Y}", options))
    return groups


class BookingActionsMixin:
    """For BookingAdmin: the actions' URLs and views, and the change page's context."""

    change_form_template = "admin/bookings/booking/change_form.html"

    def has_manage_permission(self, request: HttpRequest, obj=None) -> bool:
        """Cancel, reschedule and mark: any member of the booking's tenant."""
        return self._may(request, obj, role=None)

    def get_urls(self):
        name = f"{self.opts.app_label}_{self.opts.model_name}"
        wrap = self.admin_site.admin_view
        return [
            path(
                "<int:object_id>/cancel/",
                wrap(require_POST(self.cancel_view)),
                name=f"{name}_cancel",
            ),
            path(
                "<int:object_id>/reschedule/",
                wrap(require_POST(self.reschedule_view)),
                name=f"{name}_reschedule",
            ),
            path(
                "<int:object_id>/outcome/",
                wrap(require_POST(self.outcome_view)),
                name=f"{name}_outcome",
            ),
            *super().get_urls(),
        ]

    def change_view(self, request, object_id, form_url="", extra_context=None):
        booking = self.get_object(request, object_id)
        context = dict(extra_context or {})
        if booking is not None:
            zone = zoneinfo.ZoneInfo(booking.page.timezone)
            manage = self.has_manage_permission(request, booking)
            open_ = not booking.is_cancelled and not booking.outcome
            started = booking.starts_at <= timezone.now()
            context.update(
                zone=str(zone),
                history=history_rows(booking, zone),
                guest_emails=list(booking.guest_emails.select_related("change").order_by("pk")),
                can_manage=manage,
                can_change_time=manage and open_ and not started,
                can_mark=manage and not booking.is_cancelled and started,
                slot_groups=slot_groups(booking, zone) if manage and open_ and not started else [],
                reason_max=REASON_MAX,
            )
        return super().change_view(request, object_id, form_url, extra_context=context)

    def _booking_for_action(self, request: HttpRequest, object_id: int) -> Booking:
        booking = get_object_or_404(self.get_queryset(request), pk=object_id)
        if not self.has_manage_permission(request, booking):
            raise PermissionDenied
        return booking

    def _back(self, booking: Booking) -> HttpResponseRedirect:
        return HttpResponseRedirect(reverse("admin:bookings_booking_change", args=[booking.pk]))

    def cancel_view(self, request: HttpRequest, object_id: int):
        booking = self._booking_for_action(request, object_id)
        reason = request.POST.get("reason", "").strip()
        if len(reason) > REASON_MAX:
            self.message_user(
                request, f"Keep the reason under {REASON_MAX} characters.", messages.ERROR
            )
            return self._back(booking)
        try:
            services.booking_cancel(booking=booking, user=request.user, reason=reason)
        except services.BookingClosed as e:
            self.message_user(request, str(e), messages.ERROR)
        else:
            self.message_user(request, "The booking is cancelled.", messages.SUCCESS)
        return self._back(booking)

    def reschedule_view(self, request: HttpRequest, object_id: int):
        booking = self._booking_for_action(request, object_id)
        slot = _parse(request.POST.get("slot", ""))
        if slot is None:
            self.message_user(request, "Pick one of the free times.", messages.ERROR)
            return self._back(booking)
        try:
            services.booking_reschedule(
                booking=booking,
                slot=slot,
                user=request.user,
                reason=request.POST.get("reason", "")[:REASON_MAX],
            )
        except services.SlotTaken:
            text = "That time was just taken by another booking. Pick another."
            self.message_user(request, text, messages.ERROR)
        except services.BookingClosed as e:
            self.message_user(request, str(e), messages.ERROR)
        except ValidationError as e:
            self.message_user(request, " ".join(e.messages), messages.ERROR)
        else:
            self.message_user(request, "The booking is moved.", messages.SUCCESS)
        return self._back(booking)

    def outcome_view(self, request: HttpRequest, object_id: int):
        booking = self._booking_for_action(request, object_id)
        outcome = request.POST.get("outcome", "")
        if outcome not in ("completed", "no_show"):
            self.message_user(request, "Choose completed or no-show.", messages.ERROR)
            return self._back(booking)
        try:
            booking = services.booking_outcome_mark(
                booking=booking, outcome=outcome, user=request.user
            )
        except services.BookingClosed as e:
            self.message_user(request, str(e), messages.ERROR)
        else:
            text = f"Marked {booking.get_outcome_display().lower()}."
            self.message_user(request, text, messages.SUCCESS)
        return self._back(booking)


def _parse(value: str) -> datetime.datetime | None:
    try:
        parsed = datetime.datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else None


class GuestEmailStatusFilter(admin.SimpleListFilter):
    title = "status"
    parameter_name = "status"

    def lookups(self, request, model_admin):
        return GuestEmail.Status.choices

    def queryset(self, request, queryset):
        if self.value() in GuestEmail.Status.values:
            return queryset.filter(status=self.value())
        return queryset


@admin.register(GuestEmail)
class GuestEmailAdmin(ReadOnlyAdminMixin, TenantScopedAdmin):
    """Every email sent (or not) to a guest; failed ones can be resent."""

    list_display = [
        "created_at", "kind", "recipient", "booking_link", "status", "attempts",
        "error", "sent_at",
    ]  # fmt: skip
    list_filter = [GuestEmailStatusFilter, "kind"]
    list_select_related = ["booking__page"]
    search_fields = ["recipient"]
    actions = ["resend_selected"]
    fields = [
        "booking", "kind", "recipient", "starts_at", "status", "attempts", "next_attempt_at",
        "last_error", "sent_at", "created_at",
    ]  # fmt: skip
    readonly_fields = fields

    def has_resend_permission(self, request: HttpRequest, obj=None) -> bool:
        return self._may(request, obj, role=None)

    def get_urls(self):
        wrap = self.admin_site.admin_view
        return [
            path(
                "<int:object_id>/resend/",
                wrap(require_POST(self.resend_view)),
                name="bookings_guestemail_resend",
            ),
            *super().get_urls(),
        ]

    @admin.display(description="booking", ordering="booking_id")
    def booking_link(self, email: GuestEmail) -> str:
        url = reverse("admin:bookings_booking_change", args=[email.booking_id])
        return format_html('<a href="{}">Booking #{}</a>', url, email.booking_id)

    @admin.display(description="last error")
    def error(self, email: GuestEmail) -> str:
        return Truncator(email.last_error).chars(100)

    @admin.action(description="Resend selected failed emails", permissions=["resend"])
    def resend_selected(self, request: HttpRequest, queryset) -> None:
        selected = queryset.count()
        count = guest_emails.guest_email_resend(emails=queryset)
        skipped = selected - count
        self.message_user(request, f"{count} email(s) queued to resend.", messages.SUCCESS)
        if skipped:
            text = f"{skipped} not resent: only failed emails are resent."
            self.message_user(request, text, messages.WARNING)

    def resend_view(self, request: HttpRequest, object_id: int):
        email = get_object_or_404(self.get_queryset(request), pk=object_id)
        if not self.has_resend_permission(request, email):
            raise PermissionDenied
        count = guest_emails.guest_email_resend(emails=GuestEmail.objects.filter(pk=email.pk))
        if count:
            self.message_user(request, "The email is queued to resend.", messages.SUCCESS)
        else:
            self.message_user(request, "Only failed emails can be resent.", messages.WARNING)
        return HttpResponseRedirect(
            reverse("admin:bookings_booking_change", args=[email.booking_id])
        )

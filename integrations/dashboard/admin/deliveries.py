"""The failed-posts dashboard: read-only admin over deliveries and their attempts (every
attempt leaves a row; the dashboard is a query), the "Failed posts" summary page, resend
and dismiss actions. Resend jobs and alert settings have their admin in .jobs.

Reads are selectors (integrations.dashboard.selectors); writes are services
(integrations.dashboard.services, and the pipeline's own deliveries_resend).
Every class is tenant-scoped (bookings.admin_scoping).
"""

from __future__ import annotations

import contextlib
import uuid

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.views.main import ChangeList
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Q
from django.http import HttpRequest, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.text import Truncator
from django.utils.translation import ngettext

from bookings.admin_scoping import ReadOnlyAdminMixin, TenantScopedAdmin, user_may
from bookings.models import BookingPage, Tenant
from bookings.services import SlotTaken
from bookings.tenancy import scope_to_user, tenants_for
from integrations.dashboard import onboarding, selectors, services
from integrations.delivery.selectors import RESENDABLE
from integrations.delivery.services import deliveries_resend
from integrations.models import Delivery, DeliveryAttempt

Status = Delivery.Status


# -- filters (choices scoped to the user's tenants) ----------------------------------------------


class ErrorCodeFilter(admin.SimpleListFilter):
    title = "error code"
    parameter_name = "code"

    def lookups(self, request, model_admin):
        codes = scope_to_user(Delivery.objects.exclude(last_error_code=""), request.user)
        codes = codes.order_by("last_error_code").values_list("last_error_code", flat=True)
        return [(c, c) for c in codes.distinct()]

    def queryset(self, request, queryset):
        return queryset.filter(last_error_code=self.value()) if self.value() else queryset


class TenantFilter(admin.SimpleListFilter):
    title = "tenant"
    parameter_name = "tenant"

    def lookups(self, request, model_admin):
        return [(str(t.pk), t.name) for t in tenants_for(request.user).order_by("name")]

    def queryset(self, request, queryset):
        if not (self.value() or "").isdigit():
            return queryset
        return queryset.filter(**{f"{queryset.model.tenant_path}_id": int(self.value())})


class PageFilter(admin.SimpleListFilter):
    title = "booking page"
    parameter_name = "page"

    def lookups(self, request, model_admin):
        pages = scope_to_user(BookingPage.objects.select_related("tenant"), request.user)
        return [(str(p.pk), f"{p.title} ({p.tenant.name})") for p in pages.order_by("title")]

    def queryset(self, request, queryset):
        if not (self.value() or "").isdigit():
            return queryset
        page_path = queryset.model.tenant_path.removesuffix("__tenant")
        return queryset.filter(**{f"{page_path}_id": int(self.value())})


# -- deliveries ----------------------------------------------------------------------------------


class DismissForm(forms.Form):
    reason = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3, "cols": 60}),
        max_length=2000,
        help_text="Kept with the delivery for audit, e.g. “duplicate of an existing lead”.",
    )


@admin.register(Delivery)
class DeliveryAdmin(ReadOnlyAdminMixin, TenantScopedAdmin):
    """Deliveries, read-only. The change page is the delivery's page: payload sent, every
    attempt with Salesforce's answer, the booking's answers and URL parameters, and the
    mapping behind each field."""

    # The first column opens the delivery; it holds no link of its own (a link inside
    # Django's row link is dropped by the browser, leaving an empty <a>).
    list_display = [
        "guest", "booking_link", "page", "tenant", "sobject", "what", "status", "last_error_code",
        "error_message", "error_fields", "attempts", "last_attempt",
    ]  # fmt: skip
    list_display_links = ["guest"]
    list_filter = [
        "status", "kind", ErrorCodeFilter, TenantFilter, PageFilter,
        ("created_at", admin.DateFieldListFilter),
    ]  # fmt: skip
    search_fields = ["booking__guest_email"]  # see get_search_results
    search_help_text = "Guest email, booking id (uid or number) or Salesforce id."
    list_per_page = 50
    show_full_result_count = False
    actions = ["resend_selected", "resend_rebuilt", "dismiss_selected"]
    change_list_template = "admin/integrations/delivery/change_list.html"
    change_form_template = "admin/integrations/delivery/change_form.html"
    fields = ["booking", "sobject", "status"]  # the page shows its own panels

    def get_queryset(self, request: HttpRequest):
        return selectors.deliveries_for(request.user)

    def get_urls(self):
        name = f"{self.opts.app_label}_{self.opts.model_name}"
        wrap = self.admin_site.admin_view
        return [
            path("summary/", wrap(self.summary_view), name=f"{name}_summary"),
            path("resend-all/", wrap(self.resend_all_view), name=f"{name}_resend_all"),
            path(
                "setup/<int:tenant_id>/test-booking/",
                wrap(self.test_booking_view),
                name=f"{name}_test_booking",
            ),
            path("<path:object_id>/resend/", wrap(self.resend_view), name=f"{name}_resend"),
            path("<path:object_id>/dismiss/", wrap(self.dismiss_view), name=f"{name}_dismiss"),
            *super().get_urls(),
        ]

    # -- permissions: a log (ReadOnlyAdminMixin); staff resend and dismiss ---------------------

    def has_resend_permission(self, request: HttpRequest, obj=None) -> bool:
        return self._may(request, obj, role=None)

    # -- columns ------------------------------------------------------------------------------

    @admin.display(description="booking", ordering="booking_id")
    def booking_link(self, obj: Delivery) -> str:
        url = reverse("admin:bookings_booking_change", args=[obj.booking_id])
        return format_html('<a href="{}">Booking #{}</a>', url, obj.booking_id)

    @admin.display(description="what", ordering="kind")
    def what(self, obj: Delivery) -> str:
        """The booking's post, or the write-back of which change."""
        if obj.is_write_back and obj.change_id:
            return f"Write-back: {obj.change.get_kind_display().lower()}"
        return obj.get_kind_display()

    @admin.display(description="guest", ordering="booking__guest_email")
    def guest(self, obj: Delivery) -> str:
        return format_html(
            "{}<br><small>{}</small>", obj.booking.guest_name, obj.booking.guest_email
        )

    @admin.display(description="page", ordering="booking__page__title")
    def page(self, obj: Delivery) -> str:
        return obj.booking.page.title

    @admin.display(description="tenant", ordering="booking__page__tenant__name")
    def tenant(self, obj: Delivery) -> str:
        return obj.booking.page.tenant.name

    @admin.display(description="message")
    def error_message(self, obj: Delivery) -> str:
        return Truncator(obj.last_error_message).chars(120)

    @admin.display(description="fields")
    def error_fields(self, obj: Delivery) -> str:
        return ", ".join(obj.last_error_fields or [])

    @admin.display(description="last attempt", ordering="last_attempt_at")
    def last_attempt(self, obj: Delivery):
        return obj.last_attempt_at

    def get_search_results(self, request, queryset, search_term):
        term = search_term.strip()
        if not term:
            return queryset, False
        if term.lstrip("#").isdigit():  # a booking number
            return queryset.filter(booking_id=int(term.lstrip("#"))), False
        query = Q(booking__guest_email__icontains=term) | Q(sf_record_id=term)
        with contextlib.suppress(ValueError):
            query |= Q(booking__uid=uuid.UUID(term))
        return queryset.filter(query), False

    # -- actions ------------------------------------------------------------------------------

    @admin.action(description="Resend selected", permissions=["resend"])
    def resend_selected(self, request: HttpRequest, queryset) -> None:
        skipped = selectors.resend_skipped(queryset)
        count = deliveries_resend(deliveries=queryset)
        self._resend_message(request, count, skipped, rebuilt=False)

    @admin.action(description="Resend with current mapping", permissions=["resend"])
    def resend_rebuilt(self, request: HttpRequest, queryset) -> None:
        skipped = selectors.resend_skipped(queryset, include_sent=True)
        count = deliveries_resend(deliveries=queryset, rebuild=True, include_sent=True)
        self._resend_message(request, count, skipped, rebuilt=True)

    def _resend_message(self, request, count: int, skipped: dict[str, int], *, rebuilt: bool):
        """What was queued, and why the rest was not, in words."""
        if count:
            text = ngettext(
                "%(count)d delivery queued to resend",
                "%(count)d deliveries queued to resend",
                count,
            ) % {"count": count}
            text += " with the current mapping." if rebuilt else "."
            self.message_user(request, text, messages.SUCCESS)
        reasons = selectors.resend_skipped_reasons(skipped, rebuilt=rebuilt)
        if reasons:
            self.message_user(request, " ".join(reasons), messages.WARNING)

    @admin.action(description="Dismiss selected…", permissions=["resend"])
    def dismiss_selected(self, request: HttpRequest, queryset):
        form = DismissForm(request.POST if "apply" in request.POST else None)
        if form.is_valid():
            count = services.deliveries_dismiss(
                deliveries=queryset, user=request.user, reason=form.cleaned_data["reason"]
            )
            text = ngettext(
                "%(count)d delivery dismissed.", "%(count)d deliveries dismissed.", count
            ) % {"count": count}
            self.message_user(request, text, messages.SUCCESS)
            return None
        selected = request.POST.getlist(admin.helpers.ACTION_CHECKBOX_NAME)
        return self._render(
            request, "dismiss", "Dismiss deliveries", form=form, deliveries=queryset,
            selected=selected, action="dismiss_selected",
        )  # fmt: skip

    # -- pages --------------------------------------------------------------------------------

    def summary_view(self, request: HttpRequest):
        """ "Failed posts": counts, causes with their fix, failures per day, reconnects."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        tenant = request.GET.get("tenant", "")
        tenant_id = int(tenant) if tenant.isdigit() else None
        summary = selectors.dashboard_summary(request.user, tenant_id=tenant_id)
        return self._render(
            request, "summary", "Failed posts", summary=summary, tenant_id=tenant_id,
            changelist_url=reverse("admin:integrations_delivery_changelist"),
        )  # fmt: skip

    def resend_all_view(self, request: HttpRequest):
        """Confirm, then resend every delivery matching the changelist's filter as a job."""
        if not self.has_resend_permission(request):
            raise PermissionDenied
        changelist: ChangeList = self.get_changelist_instance(request)
        queryset = changelist.get_queryset(request).filter(status__in=RESENDABLE)
        if request.method == "POST":
            rebuild = request.POST.get("rebuild") == "on"
            jobs = services.resend_jobs_create(
                deliveries=queryset,
                user=request.user,
                rebuild=rebuild,
                description=request.GET.urlencode() or "all deliveries",
            )
            if not jobs:
                self.message_user(request, "Nothing to resend.", messages.WARNING)
                return HttpResponseRedirect(reverse("admin:integrations_delivery_changelist"))
            if len(jobs) == 1:
                url = reverse("admin:integrations_resendjob_change", args=[jobs[0].pk])
            else:
                url = reverse("admin:integrations_resendjob_changelist")
            return HttpResponseRedirect(url)
        return self._render(
            request, "resend_all", "Resend all matching", count=queryset.count(),
            query=request.GET.urlencode(),
            filters=selectors.filter_description(request.user, request.GET.urlencode()),
        )  # fmt: skip

    def test_booking_view(self, request: HttpRequest, tenant_id: int):
        """The guided setup's "Send a test booking" (POST): a sample guest books the
        tenant's page; the admin home then shows the record it created."""
        if request.method != "POST" or not user_may(request, tenant_id, role=None):
            raise PermissionDenied
        setup = onboarding.tenant_setup(get_object_or_404(Tenant, pk=tenant_id))
        if not setup.can_test or setup.page is None:
            self.message_user(
                request, "Finish the steps above first: " + setup.next_step.text, messages.ERROR
            )
            return HttpResponseRedirect(reverse("admin:index"))
        try:
            booking = services.test_booking_send(page=setup.page)
        except (ValueError, ValidationError, SlotTaken) as error:
            text = "; ".join(getattr(error, "messages", None) or [str(error)])
            self.message_user(request, f"The test booking was not made: {text}", messages.ERROR)
        else:
            self.message_user(
                request,
                f"Test booking made for {booking.guest_name}: it is on its way to Salesforce.",
                messages.SUCCESS,
            )
        return HttpResponseRedirect(reverse("admin:index") + "#setup")

    def resend_view(self, request: HttpRequest, object_id: str):
        delivery = get_object_or_404(self.get_queryset(request), pk=object_id)
        if request.method != "POST" or not self.has_resend_permission(request, delivery):
            raise PermissionDenied
        rebuild = request.POST.get("rebuild") == "1"
        queryset = Delivery.objects.filter(pk=delivery.pk)
        if deliveries_resend(deliveries=queryset, rebuild=rebuild, include_sent=rebuild):
            self.message_user(request, "Queued to resend.", messages.SUCCESS)
        else:
            self.message_user(request, "This delivery cannot be resent now.", messages.WARNING)
        return HttpResponseRedirect(
            reverse("admin:integrations_delivery_change", args=[delivery.pk])
        )

    def dismiss_view(self, request: HttpRequest, object_id: str):
        delivery = get_object_or_404(self.get_queryset(request), pk=object_id)
        if not self.has_resend_permission(request, delivery):
            raise PermissionDenied
        form = DismissForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            services.deliveries_dismiss(
                deliveries=Delivery.objects.filter(pk=delivery.pk),
                user=request.user,
                reason=form.cleaned_data["reason"],
            )
            self.message_user(request, "Dismissed.", messages.SUCCESS)
            return HttpResponseRedirect(
                reverse("admin:integrations_delivery_change", args=[delivery.pk])
            )
        return self._render(
            request, "dismiss", "Dismiss delivery", form=form, deliveries=[delivery]
        )

    def _render(self, request: HttpRequest, name: str, title: str, **context):
        base = {**self.admin_site.each_context(request), "title": title, "opts": self.opts}
        return TemplateResponse(
            request, f"admin/integrations/delivery/{name}.html", {**base, **context}
        )

    def changelist_view(self, request, extra_context=None):
        query = request.GET.copy()
        query.pop("p", None)
        extra_context = {
            **(extra_context or {}),
            "has_resend_permission": self.has_resend_permission(request),
            "resend_all_url": reverse("admin:integrations_delivery_resend_all")
            + (f"?{query.urlencode()}" if query else ""),
        }
        return super().changelist_view(request, extra_context)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        obj = self.get_object(request, object_id)
        extra_context = dict(extra_context or {})
        if obj is not None:
            extra_context.update(
                target_url=obj.target_id
                and reverse("admin:integrations_synctarget_change", args=[obj.target_id]),
                attempts=list(obj.attempt_log.all()),
                payload_rows=selectors.delivery_payload_rows(obj),
                person_rows=selectors.delivery_person_rows(obj),
                write_backs=selectors.write_backs_of(obj),
                operation_rows=selectors.write_back_operation_rows(obj),
                write_back_note=selectors.write_back_note(obj),
                answer_rows=selectors.delivery_answer_rows(obj),
                explanation=selectors.delivery_explanation(obj),
                can_resend=self.has_resend_permission(request, obj),
                resendable=obj.status in RESENDABLE,
                dismissable=obj.status in services.DISMISSABLE,
            )
        return super().change_view(request, object_id, form_url, extra_context)


@admin.register(DeliveryAttempt)
class DeliveryAttemptAdmin(ReadOnlyAdminMixin, TenantScopedAdmin):
    """Every exchange with Salesforce, as recorded: read-only."""

    list_display = [
        "started_at", "delivery_link", "operation", "outcome", "http_status", "error_code",
        "short_message", "duration_ms", "sf_record_id",
    ]  # fmt: skip
    list_filter = ["outcome", "error_code", "http_status", TenantFilter]
    search_fields = ["delivery__booking__guest_email", "sf_record_id", "=api_call_id"]
    list_select_related = ["delivery__booking__page__tenant"]
    show_full_result_count = False

    @admin.display(description="delivery", ordering="delivery_id")
    def delivery_link(self, obj: DeliveryAttempt) -> str:
        url = reverse("admin:integrations_delivery_change", args=[obj.delivery_id])
        return format_html('<a href="{}">{}</a>', url, obj.delivery.booking.guest_email)

    @admin.display(description="message")
    def short_message(self, obj: DeliveryAttempt) -> str:
        return Truncator(obj.message).chars(100)

from django.contrib import admin
from django.http import HttpRequest, HttpResponseRedirect
from django.urls import reverse

from bookings.admin_scoping import TenantScopedAdmin
from integrations.connection import selectors, services
from integrations.models import SalesforceConnection
from integrations.salesforce.diagnostics import diagnose


@admin.register(SalesforceConnection)
class SalesforceConnectionAdmin(TenantScopedAdmin):
    """One connection per tenant. Everything on it comes from Salesforce (Connect, Test
    connection, Disconnect: integrations.connection.views); tokens are never shown."""

    list_display = ["tenant", "status", "sf_username", "instance_url", "api_usage_display"]
    list_filter = ["status"]
    search_fields = ["tenant__name", "sf_username", "sf_org_id"]
    change_form_template = "admin/integrations/salesforceconnection/change_form.html"
    # The change page shows the connection in its own panel (change_form.html): org,
    # user, instance URL, API version, usage, the diagnosis of the last error, actions.
    shown_fields = ("tenant",)

    @admin.display(description="API usage")
    def api_usage_display(self, obj: SalesforceConnection) -> str:
        if not obj.api_limit:
            return "—"
        return f"{obj.api_usage} / {obj.api_limit}"

    def delete_model(self, request: HttpRequest, obj: SalesforceConnection) -> None:
        services.connection_disconnect(connection=obj)  # revoke at Salesforce first
        super().delete_model(request, obj)

    def delete_queryset(self, request: HttpRequest, queryset) -> None:
        for connection in queryset:
            services.connection_disconnect(connection=connection)
        super().delete_queryset(request, queryset)

    def response_add(self, request: HttpRequest, obj, post_url_continue=None):
        # A new connection has nothing to save but its tenant: go straight to its page,
        # where "Connect Salesforce" is.
        if "_addanother" in request.POST or "_popup" in request.POST:
            return super().response_add(request, obj, post_url_continue)
        return HttpResponseRedirect(
            reverse("admin:integrations_salesforceconnection_change", args=[obj.pk])
        )

    def get_fields(self, request: HttpRequest, obj=None):
        return ["tenant"] if obj is None else list(self.shown_fields)

    def get_readonly_fields(self, request: HttpRequest, obj=None):
        return () if obj is None else self.shown_fields

    def change_view(self, request, object_id, form_url="", extra_context=None):
        extra_context = dict(extra_context or {})
        obj = self.get_object(request, object_id)
        if obj is not None:
            extra_context["diagnosis"] = diagnose(
                obj.last_error_code, obj.last_error_message, connected_at=obj.connected_at
            )
            extra_context["can_act"] = self.has_change_permission(request, obj)
            extra_context["connect_label"] = selectors.connect_button_label(obj)
        # Nothing to save by hand: every field is Salesforce's.
        extra_context.update(
            show_save=False, show_save_and_continue=False, show_save_and_add_another=False
        )
        return super().change_view(request, object_id, form_url, extra_context)

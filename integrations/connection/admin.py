from typing import Any

from django import forms
from django.contrib import admin
from django.http import HttpRequest, HttpResponseRedirect
from django.urls import reverse
from django.utils.html import format_html

from bookings.admin_scoping import TenantScopedAdmin
from bookings.tenancy import scope_to_user
from integrations.connection import selectors, services
from integrations.connection.directory import Directory, org_directory
from integrations.models import SalesforceConnection, SalesforceUserLink
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


class SalesforceUserLinkForm(forms.ModelForm):
    """A staff member and their user in the org. The user choices come from the org's
    active users (integrations.connection.directory), built per request by the admin."""

    sf_user_id = forms.ChoiceField(label="Salesforce user")
    directories: dict[int, Directory] = {}

    class Meta:
        model = SalesforceUserLink
        fields = ["connection", "user", "sf_user_id"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        choices = [("", "—")]
        for directory in self.directories.values():
            choices += [
                (str(u["Id"]), f"{u.get('Name')} <{u.get('Email') or 'no email'}>")
                for u in directory.users
            ]
        self.fields["sf_user_id"].choices = choices
        if not any(d.users for d in self.directories.values()):
            self.fields["sf_user_id"].help_text = format_html(
                '<a href="{}">Load the org\'s active users</a> to choose one.', "?load_users=1"
            )

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        connection, user, sf_user = data.get("connection"), data.get("user"), data.get("sf_user_id")
        if connection is None:
            return data
        if user is not None and not user.memberships.filter(tenant_id=connection.tenant_id):
            self.add_error("user", "Choose a staff member of this connection's tenant.")
        directory = self.directories.get(connection.pk) or Directory()
        row = next((u for u in directory.users if str(u["Id"]) == sf_user), None)
        if sf_user and row is None:
            self.add_error("sf_user_id", "Choose an active user of this connection's org.")
        elif row is not None:
            self.instance.sf_name = str(row.get("Name") or "")
            self.instance.sf_email = str(row.get("Email") or "")
        return data


@admin.register(SalesforceUserLink)
class SalesforceUserLinkAdmin(TenantScopedAdmin):
    """Which Salesforce user each staff member is: the owner of the meetings of the pages
    they host. Suggested by email among the org's active users."""

    form = SalesforceUserLinkForm
    list_display = ["user", "sf_name", "sf_email", "connection"]
    search_fields = ["user__email", "sf_name", "sf_email"]

    def get_form(self, request: HttpRequest, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change=change, **kwargs)
        connections = scope_to_user(
            SalesforceConnection.objects.filter(status=SalesforceConnection.Status.CONNECTED),
            request.user,
            role=self.manage_role,
        )
        # Salesforce is asked only on request ("Load the org's users"); else from the cache.
        load = bool(request.GET.get("load_users"))
        directories = {c.pk: org_directory(c, cached_only=not load) for c in connections}
        return type(form.__name__, (form,), {"directories": directories})

    def get_changeform_initial_data(self, request: HttpRequest) -> dict[str, Any]:
        """Suggest the signed-in staff member and the org user with their email."""
        initial = super().get_changeform_initial_data(request)
        connections = scope_to_user(SalesforceConnection.objects.all(), request.user)
        for connection in connections[:1]:
            directory = org_directory(connection, cached_only=True)
            suggestion = directory.user_for_email(request.user.email or "")
            initial.setdefault("connection", connection.pk)
            initial.setdefault("user", request.user.pk)
            if suggestion is not None:
                initial.setdefault("sf_user_id", suggestion["Id"])
        return initial

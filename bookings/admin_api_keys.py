"""Admin of API keys: the secret is shown once, on creation, and never stored."""

from django.contrib import admin, messages
from django.http import HttpRequest
from django.template.response import TemplateResponse
from django.utils.cache import add_never_cache_headers

from bookings import services
from bookings.admin_scoping import ADMIN_ROLE, TenantScopedAdmin
from bookings.models import ApiKey


@admin.register(ApiKey)
class ApiKeyAdmin(TenantScopedAdmin):
    manage_role = ADMIN_ROLE
    list_display = ["name", "prefix", "tenant", "status", "created_at", "last_used_at"]
    search_fields = ["name", "prefix"]
    actions = ["revoke_selected"]
    readonly_fields = ["prefix", "status", "created_at", "last_used_at", "revoked_at"]

    def get_fields(self, request: HttpRequest, obj=None):
        if obj is None:
            return ["tenant", "name"]
        return ["tenant", "name", *self.readonly_fields]

    def get_readonly_fields(self, request: HttpRequest, obj=None):
        return self.readonly_fields if obj is None else ["tenant", *self.readonly_fields]

    @admin.display(description="Status")
    def status(self, api_key: ApiKey) -> str:
        return "Active" if api_key.is_active else "Revoked"

    def save_model(self, request: HttpRequest, obj: ApiKey, form, change: bool) -> None:
        if change:
            super().save_model(request, obj, form, change)
            return
        created, raw_key = services.api_key_create(tenant=obj.tenant, name=obj.name)
        obj.__dict__.update(created.__dict__)  # the admin logs and redirects with `obj`
        request._leadsync_api_key_secret = raw_key

    def response_add(self, request: HttpRequest, obj: ApiKey, post_url_continue=None):
        """Show the new key once, instead of redirecting (a message would store it)."""
        response = TemplateResponse(
            request,
            "bookings/admin/apikey_created.html",
            {
                **self.admin_site.each_context(request),
                "opts": self.opts,
                "api_key": obj,
                "secret": request._leadsync_api_key_secret,
                "title": "API key created",
            },
        )
        add_never_cache_headers(response)
        return response

    @admin.action(description="Revoke selected API keys", permissions=["change"])
    def revoke_selected(self, request: HttpRequest, queryset) -> None:
        active = list(queryset.filter(revoked_at__isnull=True))
        for api_key in active:
            services.api_key_revoke(api_key=api_key)
        self.message_user(request, f"Revoked {len(active)} API key(s).", messages.SUCCESS)

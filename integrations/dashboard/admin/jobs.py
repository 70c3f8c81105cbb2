"""Admin of bulk resend jobs (their progress page) and of per-tenant alert settings."""

from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest

from bookings.admin_scoping import ADMIN_ROLE, ReadOnlyAdminMixin, TenantScopedAdmin
from integrations.dashboard import selectors
from integrations.dashboard.alerts import alert_recipients
from integrations.models import AlertSettings, ResendJob

# -- resend jobs ---------------------------------------------------------------------------------


@admin.register(ResendJob)
class ResendJobAdmin(ReadOnlyAdminMixin, TenantScopedAdmin):
    """Bulk resends and their progress. The change page refreshes while the job runs."""

    list_display = [
        "__str__",
        "tenant",
        "status",
        "progress",
        "rebuild",
        "created_by",
        "created_at",
    ]
    list_filter = ["status"]
    change_form_template = "admin/integrations/resendjob/change_form.html"
    fields = ["tenant", "status", "rebuild", "created_by", "created_at"]  # the filter: in words
    readonly_fields = fields

    @admin.display(description="progress")
    def progress(self, obj: ResendJob) -> str:
        return f"{obj.done} / {obj.total}"

    def change_view(self, request, object_id, form_url="", extra_context=None):
        obj = self.get_object(request, object_id)
        extra_context = dict(extra_context or {})
        if obj is not None:
            extra_context.update(
                outcome=selectors.job_outcome(obj),
                filters=selectors.filter_description(request.user, obj.description),
            )
        return super().change_view(request, object_id, form_url, extra_context)


# -- alert settings ------------------------------------------------------------------------------


@admin.register(AlertSettings)
class AlertSettingsAdmin(TenantScopedAdmin):
    """Who gets a tenant's failure alerts. Tenant admins edit; members may look."""

    list_display = ["tenant", "enabled", "recipient_list"]
    fields = ["tenant", "enabled", "recipients"]
    manage_role = ADMIN_ROLE

    @admin.display(description="recipients")
    def recipient_list(self, obj: AlertSettings) -> str:
        names = alert_recipients(obj.tenant, obj)
        suffix = "" if obj.recipients.strip() else " (the tenant's admins)"
        return ", ".join(names) + suffix if names else "nobody" + suffix

    def get_readonly_fields(self, request: HttpRequest, obj=None):
        return ["tenant"] if obj is not None else []

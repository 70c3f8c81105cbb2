import copy

from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin
from django.contrib.auth.forms import UserCreationForm
from django.http import HttpRequest
from django.utils.html import escape

from bookings import services
from bookings.admin_a11y import LabelledTabularInline
from bookings.admin_scoping import (
    ADMIN_ROLE,
    TenantScopedAdmin,
    TenantScopedInlineMixin,
    is_superuser,
    scoped_choices,
    user_may,
)
from bookings.models import Membership, Tenant
from bookings.tenancy import tenant_ids_for

User = get_user_model()


@admin.register(Tenant)
class TenantAdmin(TenantScopedAdmin):
    list_display = ["name", "slug", "timezone", "created_at"]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}
    manage_role = ADMIN_ROLE

    def get_form(self, request, obj=None, **kwargs):
        # The admin renders help texts as HTML: "<slug>" must arrive escaped.
        kwargs.setdefault("help_texts", {})["slug"] = escape(
            "The start of your public booking addresses: /<slug>/<page>/."
        )
        return super().get_form(request, obj, **kwargs)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return is_superuser(request)  # tenants are created by the platform

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return is_superuser(request)


@admin.register(Membership)
class MembershipAdmin(TenantScopedAdmin):
    list_display = ["user", "tenant", "role", "created_at"]
    list_filter = ["role", "tenant"]
    search_fields = ["user__username", "user__email"]
    manage_role = ADMIN_ROLE


class MembershipInline(TenantScopedInlineMixin, LabelledTabularInline):
    model = Membership
    extra = 0
    manage_role = ADMIN_ROLE

    def get_queryset(self, request):
        qs = super().get_queryset(request)
        if is_superuser(request):
            return qs
        return qs.filter(tenant_id__in=tenant_ids_for(request.user, role=ADMIN_ROLE))

    def _may(self, request, obj, *, role):
        return user_may(request, None, role=ADMIN_ROLE)


class StaffUserCreationForm(UserCreationForm):
    """Create a staff account directly inside one of the creator's tenants."""

    class Meta(UserCreationForm.Meta):
        model = User
        fields = ("username", "email")

    tenant = Membership._meta.get_field("tenant").formfield()
    role = Membership._meta.get_field("role").formfield()


admin.site.unregister(User)


@admin.register(User)
class StaffUserAdmin(UserAdmin):
    """Users, scoped: a tenant admin manages the staff of the tenants it administers."""

    add_form = StaffUserCreationForm
    add_fieldsets = (
        (None, {"fields": ("username", "email", "password1", "password2", "tenant", "role")}),
    )
    inlines = [MembershipInline]
    tenant_fieldsets = (
        (None, {"fields": ("username", "password")}),
        ("Personal info", {"fields": ("first_name", "last_name", "email")}),
        ("Status", {"fields": ("is_active", "last_login", "date_joined")}),
    )

    def get_fieldsets(self, request, obj=None):
        if obj is not None and not is_superuser(request):
            return self.tenant_fieldsets
        return super().get_fieldsets(request, obj)

    def get_readonly_fields(self, request, obj=None):
        return () if is_superuser(request) else ("last_login", "date_joined")

    def get_inline_instances(self, request, obj=None):
        return [] if obj is None else super().get_inline_instances(request, obj)

    def get_queryset(self, request):
        qs = super().get_queryset(request)
        if is_superuser(request):
            return qs
        admin_of = tenant_ids_for(request.user, role=ADMIN_ROLE)
        # Only users all of whose tenants this admin administers: never a superuser,
        # never someone who also works for another tenant.
        return (
            qs.filter(is_superuser=False, memberships__tenant_id__in=admin_of)
            .exclude(memberships__tenant_id__in=tenant_ids_for_other(admin_of))
            .distinct()
        )

    def has_module_permission(self, request):
        return user_may(request, None, role=ADMIN_ROLE)

    def has_view_permission(self, request, obj=None):
        return self._may(request, obj)

    def has_add_permission(self, request):
        return self._may(request, None)

    def has_change_permission(self, request, obj=None):
        return self._may(request, obj)

    def has_delete_permission(self, request, obj=None):
        return self._may(request, obj) and obj != request.user

    def _may(self, request, obj) -> bool:
        if not user_may(request, None, role=ADMIN_ROLE):
            return False
        return (
            obj is None
            or is_superuser(request)
            or self.get_queryset(request).filter(pk=obj.pk).exists()
        )

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        kwargs = scoped_choices(request, db_field, kwargs, role=ADMIN_ROLE)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def get_form(self, request, obj=None, **kwargs):
        form = super().get_form(request, obj, **kwargs)
        if obj is None:
            # The factory made a new form class; give it its own scoped copy of the field
            # (declared fields are shared between classes, so never mutate them in place).
            field = copy.deepcopy(form.base_fields["tenant"])
            field.queryset = scoped_choices(
                request, Membership._meta.get_field("tenant"), {}, role=ADMIN_ROLE
            ).get("queryset", Tenant.objects.all())
            form.base_fields["tenant"] = field
        return form

    def save_model(self, request, obj, form, change):
        if change:
            super().save_model(request, obj, form, change)
            return
        services.staff_user_create(
            user=obj, tenant=form.cleaned_data["tenant"], role=form.cleaned_data["role"]
        )


def tenant_ids_for_other(tenant_ids: set[int]):
    """Tenants other than `tenant_ids` (a subquery)."""
    return Tenant.objects.exclude(pk__in=tenant_ids).values("pk")


# Registered by import; kept in their own modules to stay small.
from bookings import admin_api_keys, admin_bookings, admin_pages  # noqa: E402, F401

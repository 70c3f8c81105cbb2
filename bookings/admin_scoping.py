"""One tenant-scoping layer for every admin class that shows tenant-owned rows.

A model opts in by naming its path to the Tenant in `tenant_path` ("tenant",
"page__tenant", ...). `TenantScopedAdmin` then:

- filters the changelist (and so every change / delete / history URL) to the user's tenants;
- limits foreign-key and many-to-many choices that point at tenant-owned models;
- answers object permissions from memberships (members configure, admins also manage
  staff when `manage_role = "admin"`), instead of Django's global model permissions;
- fills in the tenant on create for a user who belongs to exactly one tenant.

Superusers see and change everything. Django's own admin still requires `is_staff`.
"""

from typing import Any

from django.contrib import admin
from django.contrib.auth import get_user_model
from django.db import models
from django.http import HttpRequest

from bookings.models import Membership, Tenant
from bookings.tenancy import scope_to_user, tenant_ids_for


def is_superuser(request: HttpRequest) -> bool:
    return request.user.is_active and request.user.is_superuser


def object_tenant_id(obj: models.Model) -> int | None:
    """The id of the tenant that owns `obj`, following its model's `tenant_path`."""
    path = type(obj).tenant_path
    if path == "pk":
        return obj.pk
    *hops, last = path.split("__")
    for hop in hops:
        obj = getattr(obj, hop, None)
        if obj is None:
            return None
    return getattr(obj, f"{last}_id", None)


def user_may(request: HttpRequest, tenant_id: int | None, *, role: str | None) -> bool:
    """Whether the request's user may act on rows of `tenant_id` (None: on some tenant)."""
    if is_superuser(request):
        return True
    ids = tenant_ids_for(request.user, role=role)
    return bool(ids) if tenant_id is None else tenant_id in ids


def scoped_choices(request: HttpRequest, db_field, kwargs: dict[str, Any], *, role: str | None):
    """Restrict a relation field's choices to the user's tenants, when its target is
    tenant-owned (or a user: then to staff of the user's tenants)."""
    if is_superuser(request) or "queryset" in kwargs:
        return kwargs
    related = db_field.related_model
    if hasattr(related, "tenant_path"):
        field_role = role if related is Tenant else None
        kwargs["queryset"] = scope_to_user(
            related._default_manager.all(), request.user, role=field_role
        )
    elif related is get_user_model():
        tenant_ids = tenant_ids_for(request.user, role=role)
        kwargs["queryset"] = related._default_manager.filter(
            memberships__tenant_id__in=tenant_ids
        ).distinct()
    return kwargs


class TenantScopedAdmin(admin.ModelAdmin):
    """Base class for the admin of every tenant-owned model (see module docstring)."""

    #: role needed to add, change or delete; None means any member of the tenant.
    manage_role: str | None = None

    def get_queryset(self, request: HttpRequest):
        return scope_to_user(super().get_queryset(request), request.user)

    def has_module_permission(self, request: HttpRequest) -> bool:
        return user_may(request, None, role=None)

    def has_view_permission(self, request: HttpRequest, obj=None) -> bool:
        return self._may(request, obj, role=None)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return self._may(request, None, role=self.manage_role)

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return self._may(request, obj, role=self.manage_role)

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return self._may(request, obj, role=self.manage_role)

    def _may(self, request: HttpRequest, obj, *, role: str | None) -> bool:
        return user_may(request, None if obj is None else object_tenant_id(obj), role=role)

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        kwargs = scoped_choices(request, db_field, kwargs, role=self.manage_role)
        if db_field.related_model is Tenant and not is_superuser(request):
            tenants = list(kwargs["queryset"][:2])
            if len(tenants) == 1:  # stamp the only possible tenant; nothing to choose
                kwargs.update(initial=tenants[0].pk, disabled=True)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def formfield_for_manytomany(self, db_field, request, **kwargs):
        kwargs = scoped_choices(request, db_field, kwargs, role=self.manage_role)
        return super().formfield_for_manytomany(db_field, request, **kwargs)


class TenantScopedInlineMixin:
    """For inlines of a TenantScopedAdmin: permissions follow the parent object, and
    relation choices are scoped like the parent's."""

    manage_role: str | None = None

    def _may(self, request: HttpRequest, obj, *, role: str | None) -> bool:
        return user_may(request, None if obj is None else object_tenant_id(obj), role=role)

    def has_view_permission(self, request: HttpRequest, obj=None) -> bool:
        return self._may(request, obj, role=None)

    def has_add_permission(self, request: HttpRequest, obj=None) -> bool:
        return self._may(request, obj, role=self.manage_role)

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return self._may(request, obj, role=self.manage_role)

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return self._may(request, obj, role=self.manage_role)

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        kwargs = scoped_choices(request, db_field, kwargs, role=self.manage_role)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


ADMIN_ROLE = Membership.Role.ADMIN

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
from django.contrib.admin.utils import get_fields_from_path
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import models
from django.http import HttpRequest
from django.shortcuts import get_object_or_404

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
        # Only rows of tenants where the user holds the role this admin requires: an
        # admin of A who is a mere member of B may not attach A's rows to B's.
        kwargs["queryset"] = scope_to_user(related._default_manager.all(), request.user, role=role)
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

    def response_action(self, request: HttpRequest, queryset):
        # Actions check has_*_permission(request) without an object, which holds if the
        # user may act on *some* tenant; narrow the selection to where it holds the role.
        queryset = scope_to_user(queryset, request.user, role=self.manage_role)
        return super().response_action(request, queryset)

    def get_list_filter(self, request: HttpRequest):
        """Related-field filters list only rows present in the scoped changelist; Django's
        default lists every row of the related table, other tenants' included."""
        if is_superuser(request):
            return super().get_list_filter(request)
        return [_scoped_filter(self.model, f) for f in super().get_list_filter(request)]

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


def _scoped_filter(model, list_filter):
    if not isinstance(list_filter, str):
        return list_filter
    field = get_fields_from_path(model, list_filter)[-1]
    if field.is_relation:
        return (list_filter, admin.RelatedOnlyFieldListFilter)
    return list_filter


class ReadOnlyAdminMixin:
    """For logs and records nobody edits by hand (deliveries, attempts, resend jobs): the
    rows are viewed, tenant-scoped as usual; adding, changing and deleting are off.
    Put it before TenantScopedAdmin in the bases."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


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


def view_on_site(request: HttpRequest, content_type_id: int, object_id: str):
    """The admin's "View on site" redirect, scoped: Django's own only checks is_staff, so
    staff could walk ids and learn other tenants' (even inactive) page URLs."""
    from django.contrib.contenttypes.models import ContentType
    from django.contrib.contenttypes.views import shortcut
    from django.http import Http404

    model = get_object_or_404(ContentType, pk=content_type_id).model_class()
    if model is not None and hasattr(model, "tenant_path"):
        try:
            visible = scope_to_user(model._default_manager.all(), request.user).filter(pk=object_id)
            found = visible.exists()
        except (ValueError, ValidationError):
            found = False
        if not found:
            raise Http404("No such object.")
    elif not is_superuser(request):
        raise Http404("No such object.")
    return shortcut(request, content_type_id, object_id)

"""Selectors for tenant access. Every tenant-scoped query starts here."""

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import QuerySet

from bookings.models import Membership, Tenant

Role = Membership.Role


def tenants_for(user: AbstractBaseUser | AnonymousUser, *, role: str | None = None) -> QuerySet:
    """Tenants `user` may see; with `role="admin"` only those it administers.

    Superusers get every tenant. Inactive or anonymous users get none.
    """
    if not getattr(user, "is_active", False) or not user.is_authenticated:
        return Tenant.objects.none()
    if user.is_superuser:
        return Tenant.objects.all()
    memberships = Membership.objects.filter(user=user)
    if role == Role.ADMIN:
        memberships = memberships.filter(role=Role.ADMIN)
    return Tenant.objects.filter(pk__in=memberships.values("tenant_id"))


def tenant_ids_for(user: AbstractBaseUser | AnonymousUser, *, role: str | None = None) -> set[int]:
    """Ids of `tenants_for(user, role=role)`, cached on the user object for one request."""
    cache = user.__dict__.setdefault("_leadsync_tenant_ids", {})
    if role not in cache:
        cache[role] = set(tenants_for(user, role=role).values_list("pk", flat=True))
    return cache[role]


def scope_to_user(queryset: QuerySet, user, *, role: str | None = None) -> QuerySet:
    """Filter a queryset of a tenant-owned model (one with `tenant_path`) to `user`'s tenants."""
    if user.is_active and user.is_superuser:
        return queryset
    path = queryset.model.tenant_path
    return queryset.filter(**{f"{path}__in": tenant_ids_for(user, role=role)})

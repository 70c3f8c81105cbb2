"""Reads shared by views, admin and templates. Every query is scoped to the user's tenants."""

from django.db.models import QuerySet
from django.shortcuts import get_object_or_404

from bookings.tenancy import scope_to_user
from integrations.models import SalesforceConnection


def connection_get_for_user(user, pk: int) -> SalesforceConnection:
    """The connection `pk` if it belongs to one of `user`'s tenants; Http404 otherwise."""
    queryset = scope_to_user(SalesforceConnection.objects.select_related("tenant"), user)
    return get_object_or_404(queryset, pk=pk)


def connections_needing_reconnect(user) -> QuerySet:
    """Connections of `user`'s tenants that Salesforce no longer accepts (the banner)."""
    if not (user.is_authenticated and user.is_active and user.is_staff):
        return SalesforceConnection.objects.none()
    queryset = SalesforceConnection.objects.filter(
        status=SalesforceConnection.Status.NEEDS_RECONNECT
    ).select_related("tenant")
    return scope_to_user(queryset, user).order_by("tenant__name")


def connect_button_label(connection: SalesforceConnection) -> str:
    """The connection page's connect button. Every fix text says “Connect Salesforce”, so
    that is its name whenever something needs fixing; only a working connection offers to
    “Reconnect” (e.g. to switch to another Salesforce user)."""
    working = connection.status == SalesforceConnection.Status.CONNECTED and connection.has_tokens
    return (
        "Reconnect Salesforce"
        if working and not connection.last_error_code
        else ("Connect Salesforce")
    )

"""Template tags for the admin: the needs-reconnect banner."""

from django import template

from integrations.connection.selectors import connections_needing_reconnect
from integrations.salesforce.diagnostics import diagnose

register = template.Library()


@register.inclusion_tag("integrations/reconnect_banner.html", takes_context=True)
def salesforce_reconnect_banner(context) -> dict:
    """Connections of the current user's tenants that need reconnecting, each with the
    diagnosis of its last error."""
    request = context.get("request")
    user = getattr(request, "user", None)
    if user is None:
        return {"items": []}
    items = [
        {
            "connection": connection,
            "diagnosis": diagnose(
                connection.last_error_code,
                connection.last_error_message,
                connected_at=connection.connected_at,
            ),
        }
        for connection in connections_needing_reconnect(user)
        # On the connection's own page its diagnosis says it all: no second banner
        # linking to the page the user is on.
        if not _is_page_of(context, connection)
    ]
    return {"items": items}


def _is_page_of(context, connection) -> bool:
    original = context.get("original")
    return isinstance(original, type(connection)) and original.pk == connection.pk

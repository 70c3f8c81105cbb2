"""Template tags of the mapping concern: mapping health on the connection page."""

from django import template

from integrations.mappings.selectors import targets_needing_attention
from integrations.models import SalesforceConnection

register = template.Library()


@register.inclusion_tag("integrations/mapping/connection_status.html")
def mapping_status(connection: SalesforceConnection) -> dict:
    """How many of the connection's targets have mappings the last schema check broke."""
    return {"connection": connection, "broken": targets_needing_attention(connection)}

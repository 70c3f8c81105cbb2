"""Template tags of the admin home: the guided setup of tenants that are not live yet."""

from django import template
from django.conf import settings
from django.templatetags.static import static

from integrations.dashboard.onboarding import setups_for

register = template.Library()


@register.inclusion_tag("integrations/setup_guide.html", takes_context=True)
def setup_guide(context) -> dict:
    """Each of the user's tenants, with where its setup stands (see dashboard.onboarding)."""
    request = context.get("request")
    user = getattr(request, "user", None)
    setups = setups_for(user) if user is not None and user.is_authenticated else []
    return {
        "setups": setups,
        "request": request,
        "csrf_token": context.get("csrf_token"),
        "site_url": settings.SITE_URL.rstrip("/"),
        "embed_script": static("leadsync/embed.js"),
    }

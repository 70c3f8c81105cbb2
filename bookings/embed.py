"""The booking page inside another site (the tenant's own), framed by static/leadsync/embed.js.

The embedded variant is the same page with `?leadsync_embed=1`. It may be framed only by
the origins the tenant lists (Content-Security-Policy: frame-ancestors); every other page
keeps X-Frame-Options: DENY. The marker is never stored with the booking's URL parameters.
"""

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.middleware.csrf import CsrfViewMiddleware

from bookings.models import Tenant

EMBED_PARAM = "leadsync_embed"


def embed_requested(request: HttpRequest) -> bool:
    # The raw query, not request.GET: that refuses a URL with very many parameters, which
    # the page itself accepts (bookings.url_params).
    return f"{EMBED_PARAM}=1" in request.META.get("QUERY_STRING", "").split("&")


def embed_allow(response: HttpResponse, tenant: Tenant) -> HttpResponse:
    """Let the tenant's listed sites frame `response`, and only them ('none' if none)."""
    return embed_allow_origins(response, tenant.embed_origin_list)


def embed_allow_origins(response: HttpResponse, origins: list[str]) -> HttpResponse:
    """Let `origins` (a tenant's embed_origin_list) frame `response`, and only them."""
    origins = list(origins) or ["'none'"]
    if settings.CONTENT_SECURITY_POLICY:
        # The enforced policy (production): the whole of it, with this page's framers.
        response._csp_replace = {"frame-ancestors": origins}
    else:
        # Only a report-only policy (DEBUG): framing is still decided, by this header alone.
        response["Content-Security-Policy"] = f"frame-ancestors {' '.join(origins)}"
    response.xframe_options_exempt = True  # CSP decides; XFrameOptionsMiddleware stays out
    return response


def embed_url(url: str) -> str:
    """`url` (a path, maybe with a query) as the embedded variant."""
    return f"{url}{'&' if '?' in url else '?'}{EMBED_PARAM}=1"


def csrf_refusal(request: HttpRequest, *, embedded: bool) -> HttpResponse | None:
    """The CSRF middleware's answer for a page whose view is csrf_exempt: enforced as usual,
    except for the embedded variant. Inside another site's frame the browser withholds the
    (SameSite=Lax) CSRF cookie, and this public form has no session or account to protect:
    its guards are the honeypot and the rate limit, which still apply."""
    if embedded or request.method != "POST":
        return None
    return CsrfViewMiddleware(lambda r: HttpResponse()).process_view(request, None, (), {})

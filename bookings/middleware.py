"""What guests and API clients get while the database cannot be reached.

PostgreSQL restarting or failing over raises OperationalError (or InterfaceError on a
connection it closed) wherever the request first needs the database. Nothing was saved:
booking_submit writes the booking and its outbox rows in one transaction. So the answer is
a 503 that says to try again, not a 500: a plain page for people, JSON with Retry-After
for the booking API.
"""

import logging

from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template.loader import render_to_string

logger = logging.getLogger(__name__)

RETRY_AFTER_SECONDS = 60  # "please try again in a minute"
API_NAMESPACE = "bookings_api"
PAGE_NAMESPACE = "bookings"
API_MESSAGE = "The booking service is briefly unavailable; nothing was saved. Retry later."


def _namespace(request: HttpRequest) -> str:
    match = getattr(request, "resolver_match", None)
    return match.namespace if match else ""


def database_unavailable_response(request: HttpRequest) -> HttpResponse:
    """503 with Retry-After: JSON on the booking API, otherwise a plain page (that says
    the booking was not taken when one was submitted). Renders without context
    processors: they might query the database that is down."""
    namespace = _namespace(request)
    if namespace == API_NAMESPACE:
        response = JsonResponse({"errors": {"service": [API_MESSAGE]}}, status=503)
    else:
        submitted = namespace == PAGE_NAMESPACE and request.method == "POST"
        html = render_to_string("bookings/unavailable.html", {"booking": submitted})
        response = HttpResponse(html, status=503)
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    response["Cache-Control"] = "no-store"
    return response


class DatabaseUnavailableMiddleware:
    """Turns a lost database connection in a view into a 503 (see the module docstring)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not isinstance(exception, OperationalError | InterfaceError):
            return None
        logger.warning(
            "Database unavailable during %s %s (%s: %s); answered 503.",
            request.method,
            request.path,
            type(exception).__name__,
            exception,
        )
        return database_unavailable_response(request)

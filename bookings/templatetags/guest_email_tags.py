"""The admin home's line on guest emails that failed (scoped to the user's tenants)."""

from django import template

from bookings.models import GuestEmail
from bookings.tenancy import scope_to_user

register = template.Library()


@register.simple_tag(takes_context=True)
def guest_emails_failed_count(context) -> int:
    request = context.get("request")
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return 0
    failed = GuestEmail.objects.filter(status=GuestEmail.Status.FAILED)
    return scope_to_user(failed, user).count()

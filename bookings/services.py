"""Write services of the booking site. Keyword-only, one transaction each."""

from django.contrib.auth import get_user_model
from django.db import transaction

from bookings.models import Membership, Tenant

User = get_user_model()


@transaction.atomic
def staff_user_create(*, user: "User", tenant: Tenant, role: str) -> Membership:
    """Save `user` (password already set) as an active staff user of `tenant` with `role`.

    Returns the new Membership. Staff users reach the admin but see only their tenants.
    """
    user.is_staff = True
    user.is_active = True
    user.save()
    return Membership.objects.create(user=user, tenant=tenant, role=role)

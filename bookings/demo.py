"""The demo tenant that `make run` loads. Idempotent: running it again changes nothing."""

from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.db import transaction

from bookings import services
from bookings.models import Membership, Tenant

DEMO_TENANT_SLUG = "demo"
DEMO_USERNAME = "demo"
DEMO_PASSWORD = "leadsync-demo"  # noqa: S105 - a local demo login, printed by `make run`


@dataclass
class DemoTenant:
    tenant: Tenant
    username: str
    password: str
    created: bool


@transaction.atomic
def demo_tenant_setup() -> DemoTenant:
    """Create (once) the demo tenant and its staff admin. Returns what exists."""
    tenant, created = Tenant.objects.get_or_create(
        slug=DEMO_TENANT_SLUG, defaults={"name": "Demo Company", "timezone": "Europe/London"}
    )
    User = get_user_model()
    user = User.objects.filter(username=DEMO_USERNAME).first()
    if user is None:
        user = User(username=DEMO_USERNAME, email="demo@leadsync.example")
        user.set_password(DEMO_PASSWORD)
        services.staff_user_create(user=user, tenant=tenant, role=Membership.Role.ADMIN)
    return DemoTenant(
        tenant=tenant, username=DEMO_USERNAME, password=DEMO_PASSWORD, created=created
    )

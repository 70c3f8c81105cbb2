"""Demo set-up for `make run`: the booking side first, then the Salesforce side."""

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from bookings.demo import DemoTenant, demo_tenant_setup
from integrations.models import SalesforceConnection

# The Procfile starts the emulator with `--seed-refresh-token` set to this same value.
DEMO_SEED_REFRESH_TOKEN = "leadsync-demo-seeded-refresh-token"  # noqa: S105 - local demo
DEMO_EMULATOR_HOST = "127.0.0.1:8443"


def demo_setup() -> DemoTenant:
    """Create (once) everything the demo needs. Safe to run on every start."""
    demo = demo_tenant_setup()
    demo_connection_setup(demo)
    return demo


@transaction.atomic
def demo_connection_setup(demo: DemoTenant) -> SalesforceConnection:
    """The demo tenant's connection to the local emulator: a seeded refresh token and no
    access token, so the first call refreshes. Left alone once it exists."""
    from integrations.salesforce.emulator.org import ORG_ID, USER_ID, USERNAME

    connection, created = SalesforceConnection.objects.get_or_create(
        tenant=demo.tenant,
        defaults={
            "status": SalesforceConnection.Status.CONNECTED,
            "login_host": DEMO_EMULATOR_HOST,
            "instance_url": f"https://{DEMO_EMULATOR_HOST}",
            "api_version": settings.SALESFORCE_API_VERSION,
            "sf_org_id": ORG_ID,
            "sf_user_id": USER_ID,
            "sf_username": USERNAME,
            "connected_at": timezone.now(),
        },
    )
    if created:
        connection.refresh_token = DEMO_SEED_REFRESH_TOKEN
        connection.save(update_fields=["refresh_token_encrypted"])
    return connection

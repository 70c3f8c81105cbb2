"""Demo set-up for `make run`: the booking side first, then the Salesforce side."""

from bookings.demo import DemoTenant, demo_tenant_setup


def demo_setup() -> DemoTenant:
    """Create (once) everything the demo needs. Safe to run on every start."""
    return demo_tenant_setup()

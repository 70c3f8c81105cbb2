"""Admin of the failed-posts dashboard; importing the modules registers their classes."""

from integrations.dashboard.admin import deliveries, jobs  # noqa: F401

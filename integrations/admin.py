"""Admin registration of the integrations app: each concern registers its own classes."""

from integrations.connection import admin as connection_admin  # noqa: F401
from integrations.dashboard import admin as dashboard_admin  # noqa: F401
from integrations.delivery import admin as delivery_admin  # noqa: F401
from integrations.mappings import admin as mappings_admin  # noqa: F401

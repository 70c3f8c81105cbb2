"""Outbound-sync models, one module per concern. `tenant_path` on each names the lookup
to the owning Tenant (see bookings.admin_scoping)."""

from integrations.models.alerts import AlertSettings, AlertState, ResendJob
from integrations.models.connection import SalesforceConnection, SalesforceUserLink
from integrations.models.delivery import Delivery, DeliveryAttempt
from integrations.models.mapping import FieldMapping, SObjectSchema, SyncTarget
from integrations.models.write_back import WriteBackField

__all__ = [
    "AlertSettings",
    "AlertState",
    "Delivery",
    "DeliveryAttempt",
    "FieldMapping",
    "ResendJob",
    "SObjectSchema",
    "SalesforceConnection",
    "SalesforceUserLink",
    "SyncTarget",
    "WriteBackField",
]

"""The Salesforce connection of a tenant. `tenant_path` names the lookup to the owning
Tenant (see bookings.admin_scoping)."""

from django.conf import settings
from django.db import models

from bookings.models import Tenant
from integrations import crypto


class SalesforceConnection(models.Model):
    """A tenant's link to its Salesforce org: where it is, who authorised it, its tokens.

    The tokens are stored encrypted (integrations.crypto); read and set them through the
    `access_token` / `refresh_token` properties. They are write-only for people: never
    rendered, never logged. Writes go through integrations.connection (services, tokens).
    """

    tenant_path = "tenant"

    class Status(models.TextChoices):
        CONNECTED = "connected", "Connected"
        NEEDS_RECONNECT = "needs_reconnect", "Needs reconnecting"
        DISABLED = "disabled", "Not connected"

    tenant = models.OneToOneField(
        Tenant, on_delete=models.CASCADE, related_name="salesforce_connection"
    )
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.DISABLED)
    login_host = models.CharField(
        max_length=255, blank=True, help_text="Where staff log in: login.salesforce.com, ..."
    )
    instance_url = models.URLField(blank=True, help_text="The org's API host, from Salesforce.")
    api_version = models.CharField(max_length=10, blank=True)
    sf_org_id = models.CharField("Salesforce org id", max_length=18, blank=True)
    sf_user_id = models.CharField("Salesforce user id", max_length=18, blank=True)
    sf_username = models.CharField("Salesforce user", max_length=255, blank=True)
    access_token_encrypted = models.TextField(blank=True, editable=False)
    refresh_token_encrypted = models.TextField(blank=True, editable=False)
    last_error_code = models.CharField(max_length=100, blank=True)
    last_error_message = models.TextField(blank=True)
    last_error_at = models.DateTimeField(null=True, blank=True)
    api_usage = models.PositiveIntegerField(
        null=True, blank=True, help_text="API calls used in the last 24 hours (Sforce-Limit-Info)."
    )
    api_limit = models.PositiveIntegerField(null=True, blank=True, help_text="Daily API limit.")
    checked_at = models.DateTimeField(null=True, blank=True)
    connected_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "Salesforce connection"

    def __str__(self) -> str:
        return f"Salesforce connection of {self.tenant}"

    # -- tokens (encrypted at rest) --------------------------------------------------------

    @property
    def access_token(self) -> str:
        return crypto.secret_decrypt(self.access_token_encrypted)

    @access_token.setter
    def access_token(self, value: str) -> None:
        self.access_token_encrypted = crypto.secret_encrypt(value)

    @property
    def refresh_token(self) -> str:
        return crypto.secret_decrypt(self.refresh_token_encrypted)

    @refresh_token.setter
    def refresh_token(self, value: str) -> None:
        self.refresh_token_encrypted = crypto.secret_encrypt(value)

    @property
    def has_tokens(self) -> bool:
        return bool(self.refresh_token_encrypted)

    @property
    def is_connected(self) -> bool:
        return self.status == self.Status.CONNECTED


class SalesforceUserLink(models.Model):
    """A staff member's user in the tenant's Salesforce org: owner of the Events of the
    pages they host (and of their records, under the "host" owner policy)."""

    tenant_path = "connection__tenant"

    connection = models.ForeignKey(
        SalesforceConnection, on_delete=models.CASCADE, related_name="user_links"
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="salesforce_links"
    )
    sf_user_id = models.CharField("Salesforce user", max_length=18)
    sf_name = models.CharField(max_length=255, blank=True)
    sf_email = models.CharField(max_length=254, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "staff member's Salesforce user"
        verbose_name_plural = "staff members' Salesforce users"
        constraints = [
            models.UniqueConstraint(fields=["connection", "user"], name="user_link_unique")
        ]

    def __str__(self) -> str:
        return f"{self.user} → {self.sf_name or self.sf_user_id}"

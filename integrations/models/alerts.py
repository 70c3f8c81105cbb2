"""Failure alerts (settings and throttle state per tenant) and bulk resend jobs."""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import models

from bookings.models import Tenant


def _validate_recipients(value: str) -> None:
    for address in split_recipients(value):
        try:
            validate_email(address)
        except ValidationError as exc:
            raise ValidationError(f"“{address}” is not an email address.") from exc


def split_recipients(value: str) -> list[str]:
    """The addresses of a recipients field (commas, semicolons, spaces or new lines)."""
    for separator in ",;\n\r\t":
        value = value.replace(separator, " ")
    return list(dict.fromkeys(a for a in value.split(" ") if a))


class AlertSettings(models.Model):
    """Who hears about a tenant's failed deliveries. Edited by tenant admins; a tenant
    without a row gets the defaults (on, to its admin members)."""

    tenant_path = "tenant"

    tenant = models.OneToOneField(Tenant, on_delete=models.CASCADE, related_name="alert_settings")
    enabled = models.BooleanField(
        "Send failure alerts",
        default=True,
        help_text="Email when bookings fail to reach Salesforce.",
    )
    recipients = models.TextField(
        blank=True,
        validators=[_validate_recipients],
        help_text="Email addresses, one per line. Empty: every admin member of the tenant.",
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "alert settings"
        verbose_name_plural = "alert settings"

    def __str__(self) -> str:
        return f"Alerts of {self.tenant}"


class AlertState(models.Model):
    """What has already been reported for a tenant, so running the alert task often never
    repeats itself. Written only by integrations.dashboard.alerts under a row lock."""

    tenant_path = "tenant"

    tenant = models.OneToOneField(Tenant, on_delete=models.CASCADE, related_name="alert_state")
    failing_since = models.DateTimeField(
        null=True, blank=True, help_text="Start of the current run of failures; None: quiet."
    )
    last_alert_at = models.DateTimeField(null=True, blank=True)
    last_digest_at = models.DateTimeField(null=True, blank=True)
    last_failure_at = models.DateTimeField(null=True, blank=True)
    reported_attempt_id = models.BigIntegerField(
        default=0, help_text="Failed attempts up to this id have been reported."
    )
    reconnect_alerted_at = models.DateTimeField(
        null=True, blank=True, help_text="Set while a needs-reconnect episode has been reported."
    )

    def __str__(self) -> str:
        return f"Alert state of {self.tenant}"


class ResendJob(models.Model):
    """ "Resend all matching": the deliveries matched when staff asked (`delivery_ids`),
    resent in chunks by a Celery task that advances `done`."""

    tenant_path = "tenant"

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    tenant = models.ForeignKey(
        Tenant, on_delete=models.CASCADE, related_name="resend_jobs", null=True, blank=True,
        help_text="Empty for a platform admin's job across tenants.",
    )  # fmt: skip
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
        related_name="+",
    )  # fmt: skip
    description = models.CharField(max_length=500, blank=True, help_text="The filter used.")
    rebuild = models.BooleanField(
        "Rebuild payloads", default=False, help_text="Resend with the current mapping."
    )
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    delivery_ids = models.JSONField(default=list, editable=False)
    total = models.PositiveIntegerField(default=0)
    done = models.PositiveIntegerField(default=0, help_text="Deliveries processed.")
    resent = models.PositiveIntegerField(default=0, help_text="Deliveries put back in the queue.")
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"Resend job {self.pk} ({self.done}/{self.total})"

    @property
    def is_finished(self) -> bool:
        return self.status in (self.Status.DONE, self.Status.FAILED)

    @property
    def percent(self) -> int:
        return 100 if not self.total else int(100 * self.done / self.total)

"""The field values a target's write-back sets when a booking changes (cancelled,
no-show, completed), on the Event or on the person (Lead / Contact)."""

from django.db import models

from integrations.models.mapping import SyncTarget


class WriteBackField(models.Model):
    """On `change`, set `sf_field` of the Event or of the person to `value` (checked
    against the cached describe when saved in the admin: updateable fields only, picklist
    values and types as for mappings)."""

    tenant_path = "target__page__tenant"

    class Change(models.TextChoices):
        CANCELLED = "cancelled", "Cancelled"
        NO_SHOW = "no_show", "No-show"
        COMPLETED = "completed", "Completed"

    class AppliesTo(models.TextChoices):
        EVENT = "event", "The meeting (Event)"
        PERSON = "person", "The Lead / Contact"

    target = models.ForeignKey(
        SyncTarget, on_delete=models.CASCADE, related_name="write_back_fields"
    )
    change = models.CharField("when", max_length=12, choices=Change.choices)
    applies_to = models.CharField("on", max_length=10, choices=AppliesTo.choices)
    sf_field = models.CharField("Salesforce field", max_length=100)
    value = models.CharField(max_length=255, blank=True)

    class Meta:
        verbose_name = "write-back field"
        constraints = [
            models.UniqueConstraint(
                fields=["target", "change", "applies_to", "sf_field"],
                name="writeback_field_unique",
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_change_display()}: {self.sf_field} = {self.value}"

"""What a booking page posts to Salesforce: targets, field mappings, cached schemas."""

from django.db import models

from bookings.models import BookingPage
from integrations.models.connection import SalesforceConnection
from integrations.salesforce.mapping import SourceKind as CoreSourceKind
from integrations.salesforce.schema import WriteMode as CoreWriteMode


class SObjectSchema(models.Model):
    """The describe of one sObject as the connected user sees it, cached: admin forms and
    the pre-send check read it instead of calling Salesforce. Refreshed on demand and daily.
    Interpret it only through integrations.salesforce.schema."""

    tenant_path = "connection__tenant"

    connection = models.ForeignKey(
        SalesforceConnection, on_delete=models.CASCADE, related_name="schemas"
    )
    sobject = models.CharField(max_length=100)
    describe = models.JSONField()
    fetched_at = models.DateTimeField()

    class Meta:
        verbose_name = "cached Salesforce schema"
        constraints = [
            models.UniqueConstraint(fields=["connection", "sobject"], name="schema_unique_object")
        ]

    def __str__(self) -> str:
        return f"{self.sobject} fields ({self.connection.tenant})"


class SyncTarget(models.Model):
    """'Post to Salesforce' for one booking page and one sObject (Lead first; any object
    by configuration): the write mode and the field that carries the booking's id."""

    tenant_path = "page__tenant"

    class WriteMode(models.TextChoices):
        UPSERT = CoreWriteMode.UPSERT.value, "Upsert by external ID (recommended)"
        INSERT = CoreWriteMode.INSERT.value, "Create"

    page = models.ForeignKey(BookingPage, on_delete=models.CASCADE, related_name="sync_targets")
    sobject = models.CharField("Salesforce object", max_length=100, default="Lead")
    enabled = models.BooleanField("Post to Salesforce", default=False)
    write_mode = models.CharField(
        max_length=10, choices=WriteMode.choices, default=WriteMode.UPSERT
    )
    key_field = models.CharField(
        "Booking id field",
        max_length=100,
        blank=True,
        help_text=(
            "An external-ID field that receives the booking's id. Upsert uses it as the key, "
            "so a resend updates the record instead of creating a second one; create mode "
            "looks the record up by it before creating again after an unclear failure."
        ),
    )
    problems = models.JSONField(
        default=list, blank=True, editable=False,
        help_text="Mapping problems found at the last schema check (drift), as dicts.",
    )  # fmt: skip
    checked_at = models.DateTimeField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "Salesforce target"
        constraints = [
            models.UniqueConstraint(fields=["page", "sobject"], name="target_unique_page_object")
        ]

    def __str__(self) -> str:
        return f"{self.page} → {self.sobject}"

    @property
    def core_write_mode(self) -> CoreWriteMode:
        return CoreWriteMode(self.write_mode)


class FieldMapping(models.Model):
    """One Salesforce field of a target and where its value comes from."""

    tenant_path = "target__page__tenant"

    class SourceKind(models.TextChoices):
        QUESTION = CoreSourceKind.QUESTION.value, "Question"
        BOOKING = CoreSourceKind.BOOKING.value, "Booking fact"
        URL_PARAM = CoreSourceKind.URL_PARAM.value, "URL parameter"
        CONSTANT = CoreSourceKind.CONSTANT.value, "Constant"

    target = models.ForeignKey(SyncTarget, on_delete=models.CASCADE, related_name="mappings")
    sf_field = models.CharField("Salesforce field", max_length=100)
    source_kind = models.CharField(max_length=20, choices=SourceKind.choices)
    source_key = models.CharField(
        max_length=100, blank=True, help_text="The question key or booking fact."
    )
    constant_value = models.TextField(blank=True)
    accept_truncation = models.BooleanField(
        default=False, help_text="Cut longer answers to the field's length instead of refusing."
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["target", "sf_field"], name="mapping_unique_field")
        ]

    def __str__(self) -> str:
        return f"{self.sf_field} ← {self.get_source_kind_display()} {self.source_key}".strip()

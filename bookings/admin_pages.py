"""Admin of booking pages (with their hours and questions inline) and of bookings."""

import datetime

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.contrib.admin.widgets import AdminTimeWidget
from django.core.exceptions import ValidationError
from django.db import models
from django.forms.models import BaseInlineFormSet
from django.http import HttpRequest
from django.utils.html import escape, format_html, format_html_join

from bookings import services
from bookings.admin_a11y import LabelledTabularInline
from bookings.admin_bookings import BookingActionsMixin
from bookings.admin_scoping import TenantScopedAdmin, TenantScopedInlineMixin, is_superuser
from bookings.models import (
    AvailabilityWindow,
    Booking,
    BookingPage,
    DateOverride,
    Question,
    Weekday,
    windows_overlap,
)


class ChoicesField(forms.CharField):
    """A list of choices edited as one choice per line."""

    widget = forms.Textarea(attrs={"rows": 3, "cols": 28})

    def prepare_value(self, value):
        return "\n".join(value) if isinstance(value, list) else value

    def to_python(self, value) -> list[str]:
        text = super().to_python(value)
        return [line.strip() for line in text.splitlines() if line.strip()]


class QuestionForm(forms.ModelForm):
    choices = ChoicesField(
        required=False, help_text="Single and multiple choice only: one choice per line."
    )

    class Meta:
        model = Question
        fields = ["order", "key", "label", "kind", "required", "max_length", "choices", "help_text"]
        widgets = {"help_text": forms.TextInput(attrs={"size": 30})}


class QuestionInline(TenantScopedInlineMixin, LabelledTabularInline):
    model = Question
    form = QuestionForm
    extra = 0
    ordering = ["order", "pk"]


#: the weekly hours a new page starts with
DEFAULT_WINDOWS = [
    {"weekday": day, "start": datetime.time(9, 0), "end": datetime.time(17, 0)}
    for day in range(Weekday.MONDAY, Weekday.FRIDAY + 1)
]


class PrefilledForm(forms.ModelForm):
    """An inline row that counts as filled in when it was prefilled: Django skips unchanged
    extra rows, which would drop the default hours a new page is offered."""

    def has_changed(self) -> bool:
        return super().has_changed() or (self.instance.pk is None and bool(self.initial))


class _LiveRowsFormSet(BaseInlineFormSet):
    def live_rows(self) -> list[dict]:
        return [
            form.cleaned_data
            for form in self.forms
            if form.cleaned_data and not form.cleaned_data.get("DELETE")
        ]


class WindowFormSet(_LiveRowsFormSet):
    """Weekly hours: the windows of one day may not overlap."""

    def clean(self) -> None:
        super().clean()
        rows = [r for r in self.live_rows() if r.get("start") and r.get("end")]
        problems = windows_overlap(
            (Weekday(r["weekday"]).label, r["start"], r["end"])
            for r in rows
            if r.get("weekday") is not None
        )
        if problems:
            raise ValidationError(problems)


class OverrideFormSet(_LiveRowsFormSet):
    """Date overrides: a date is a day off or has hours, and its hours may not overlap."""

    def clean(self) -> None:
        super().clean()
        rows = [r for r in self.live_rows() if r.get("date")]
        problems = []
        for date in sorted({r["date"] for r in rows if r.get("start") is None}):
            if sum(1 for r in rows if r["date"] == date) > 1:
                problems.append(
                    f"{date:%Y-%m-%d}: a day off cannot also have hours; remove one of them."
                )
        problems += windows_overlap(
            (f"{r['date']:%Y-%m-%d}", r["start"], r["end"])
            for r in rows
            if r.get("start") and r.get("end")
        )
        if problems:
            raise ValidationError(problems)


HOURS_WIDGETS = {models.TimeField: {"widget": AdminTimeWidget(format="%H:%M")}}


class WindowInline(TenantScopedInlineMixin, LabelledTabularInline):
    model = AvailabilityWindow
    form = PrefilledForm
    formset = WindowFormSet
    formfield_overrides = HOURS_WIDGETS
    extra = 0
    verbose_name = "weekly hours"
    verbose_name_plural = (
        "weekly hours (several windows a day are fine, e.g. 09:00-12:00 and 13:00-17:00)"
    )

    def get_extra(self, request, obj=None, **kwargs) -> int:
        return len(DEFAULT_WINDOWS) if obj is None or obj.pk is None else 1


class OverrideInline(TenantScopedInlineMixin, LabelledTabularInline):
    model = DateOverride
    formset = OverrideFormSet
    formfield_overrides = HOURS_WIDGETS
    extra = 0
    verbose_name = "date override"
    verbose_name_plural = (
        "date overrides (other hours on a date; leave start and end empty for a day off)"
    )

    def get_queryset(self, request):
        # Past dates no longer matter to guests; a day's margin for pages east of UTC.
        yesterday = datetime.date.today() - datetime.timedelta(days=1)
        return super().get_queryset(request).filter(date__gte=yesterday)


class BookingPageForm(forms.ModelForm):
    class Meta:
        model = BookingPage
        fields = [  # the admin's fieldsets decide the order
            "tenant", "title", "slug", "description", "host", "active", "timezone",
            "duration_minutes", "horizon_days", "min_notice_minutes", "buffer_before_minutes",
            "buffer_after_minutes", "daily_cap", "language", "reminder_enabled",
            "reminder_minutes",
        ]  # fmt: skip
        # The admin renders help texts as HTML: "<tenant>" must arrive escaped, or the
        # browser takes it for a tag and shows "///".
        help_texts = {
            "slug": escape("The end of the page's public address: /<tenant>/<slug>/."),
        }

    def clean(self) -> dict:
        data = super().clean()
        host = data.get("host")
        tenant = data.get("tenant") or (self.instance.tenant if self.instance.tenant_id else None)
        if host is not None and tenant and not host.memberships.filter(tenant=tenant).exists():
            self.add_error("host", "The host must be a staff member of this page's tenant.")
        return data


def public_url(page: BookingPage) -> str:
    return f"{settings.SITE_URL}{page.get_absolute_url()}"


@admin.register(BookingPage)
class BookingPageAdmin(TenantScopedAdmin):
    form = BookingPageForm
    inlines = [WindowInline, OverrideInline, QuestionInline]
    list_display = ["title", "tenant", "duration_minutes", "active", "public_link"]
    list_filter = ["active"]
    search_fields = ["title", "slug"]
    prepopulated_fields = {"slug": ["title"]}
    readonly_fields = ["public_link"]
    fieldsets = [
        (
            None,
            {"fields": ["tenant", "title", "slug", "description", "host", "active", "public_link"]},
        ),
        (
            "Availability",
            {
                "fields": [
                    "timezone",
                    "duration_minutes",
                    ("min_notice_minutes", "horizon_days"),
                    ("buffer_before_minutes", "buffer_after_minutes"),
                    "daily_cap",
                ],
                "description": "The weekly hours and date overrides are below.",
            },
        ),
        ("Guest emails", {"fields": ["language", "reminder_enabled", "reminder_minutes"]}),
    ]

    def get_formset_kwargs(self, request, obj, inline, prefix):
        kwargs = super().get_formset_kwargs(request, obj, inline, prefix)
        if isinstance(inline, WindowInline) and (obj is None or obj.pk is None):
            kwargs["initial"] = DEFAULT_WINDOWS  # a new page: weekdays 09:00-17:00
        return kwargs

    @admin.display(description="Public URL")
    def public_link(self, page: BookingPage) -> str:
        if page.pk is None:
            return "Shown once the page is saved."
        url = public_url(page)
        return format_html('<a href="{}" target="_blank" rel="noopener">{}</a>', url, url)


class BookingStatusFilter(admin.SimpleListFilter):
    title = "status"
    parameter_name = "status"

    def lookups(self, request, model_admin):
        return [("active", "Active"), ("cancelled", "Cancelled")]

    def queryset(self, request, queryset):
        if self.value() in ("active", "cancelled"):
            return queryset.filter(cancelled_at__isnull=self.value() == "active")
        return queryset


def _table(rows) -> str:
    if not rows:
        return "—"
    body = format_html_join("", "<tr><th scope='row'>{}</th><td>{}</td></tr>", rows)
    return format_html('<table class="leadsync-readonly">{}</table>', body)


def _answer_text(value) -> str:
    if isinstance(value, bool):
        return "Yes" if value else "No"
    if isinstance(value, list):
        return ", ".join(map(str, value)) or "—"
    return "—" if value is None or value == "" else str(value)


@admin.register(Booking)
class BookingAdmin(BookingActionsMixin, TenantScopedAdmin):
    """Bookings are made by guests: staff read them, and cancel, move or mark them through
    the services (the change page's panels, bookings.admin_bookings), never edit them."""

    list_display = ["starts_at", "page", "guest_name", "guest_email", "status", "created_at"]
    list_filter = [BookingStatusFilter, "outcome"]
    list_select_related = ["page__tenant"]
    search_fields = ["guest_name", "guest_email"]
    date_hierarchy = "starts_at"
    actions = ["cancel_selected"]
    fields = [
        "page",
        "status",
        "starts_at",
        "ends_at",
        "guest_name",
        "guest_email",
        "guest_timezone",
        "answers_table",
        "url_params_table",
        "created_at",
        "cancelled_at",
        "outcome",
        "sequence",
        "uid",
    ]
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return is_superuser(request)  # staff cancel; deleting would lose the record

    def has_cancel_permission(self, request: HttpRequest) -> bool:
        return self._may(request, None, role=self.manage_role)

    @admin.display(description="Status")
    def status(self, booking: Booking) -> str:
        if booking.is_cancelled:
            return "Cancelled"
        return booking.get_outcome_display() if booking.outcome else "Active"

    @admin.display(description="Answers")
    def answers_table(self, booking: Booking) -> str:
        labels = dict(booking.page.questions.values_list("key", "label"))
        return _table(
            [(labels.get(k, k), _answer_text(v)) for k, v in (booking.answers or {}).items()]
        )

    @admin.display(description="URL parameters")
    def url_params_table(self, booking: Booking) -> str:
        return _table(list((booking.url_params or {}).items()))

    @admin.action(description="Cancel selected bookings", permissions=["cancel"])
    def cancel_selected(self, request: HttpRequest, queryset) -> None:
        cancelled, refused = 0, []
        for booking in queryset.filter(cancelled_at__isnull=True):
            try:
                services.booking_cancel(booking=booking, user=request.user)
            except services.BookingClosed as e:
                refused.append(f"{booking.guest_name}: {e}")
            else:
                cancelled += 1
        self.message_user(request, f"Cancelled {cancelled} booking(s).", messages.SUCCESS)
        for message in refused:
            self.message_user(request, message, messages.WARNING)

"""Forms of the public booking page: the guest, the slot, a honeypot, and the answers
(the answers and guest fields come from `bookings.answers`, shared with the API)."""

import datetime
import zoneinfo

from django import forms
from django.core.exceptions import ValidationError
from django.forms.utils import ErrorDict
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext_lazy as _

from bookings.answers import AnswersForm, GuestForm

HONEYPOT_FIELD = "website"
HONEYPOT_ERROR = "honeypot"


class SlotField(forms.CharField):
    """The chosen slot's start (an ISO time with its offset, as the picker posts it).
    Accepts any well-formed start, so that a slot taken since the page was shown gets the
    clear "just taken" message from the service; only the posted slot is checked."""

    default_error_messages = {
        "invalid": _("Pick one of the offered times."),
        "required": _("Pick a day and a time."),
    }

    def clean(self, value) -> datetime.datetime | None:
        value = super().clean(value)
        try:
            parsed = parse_datetime(value) if value else None
        except ValueError:  # well-formed but impossible, e.g. 2030-02-30T09:00Z
            parsed = None
        if value and (parsed is None or parsed.tzinfo is None):
            raise ValidationError(self.error_messages["invalid"], code="invalid")
        return parsed


class QuietMixin:
    """`quiet=True` binds the form to the posted data without validating it: the page is
    shown again (e.g. in another time zone) with the guest's input and no errors."""

    def __init__(self, *args, quiet: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        self.quiet = quiet

    def full_clean(self) -> None:
        if self.quiet:
            self._errors, self.cleaned_data = ErrorDict(), {}
            return
        super().full_clean()


class PageAnswersForm(QuietMixin, AnswersForm):
    pass


class BookingForm(QuietMixin, GuestForm):
    """The guest part of the public page form. The answers are a separate AnswersForm."""

    slot = SlotField(label=_("Time"))  # rendered by the picker (bookings/_picker.html)
    website = forms.CharField(
        required=False,
        label=_("Leave this field empty"),
        widget=forms.TextInput(attrs={"tabindex": "-1", "autocomplete": "off"}),
    )

    field_order = ["slot", "timezone", "name", "email"]

    def __init__(self, *args, zone: zoneinfo.ZoneInfo, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["timezone"].initial = str(zone)
        self.fields["timezone"].help_text = _("Times are shown in this time zone.")

    def clean_website(self) -> str:
        if self.cleaned_data.get(HONEYPOT_FIELD):
            raise ValidationError(_("Leave this field empty."), code=HONEYPOT_ERROR)
        return ""

    def is_bot(self) -> bool:
        return self.has_error(HONEYPOT_FIELD, code=HONEYPOT_ERROR)

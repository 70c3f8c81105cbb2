"""Forms of the public booking page: the guest, the slot, a honeypot, and the answers
(the answers and guest fields come from `bookings.answers`, shared with the API)."""

import datetime
import functools
import zoneinfo
from collections.abc import Callable
from itertools import groupby

from django import forms
from django.core.exceptions import ValidationError
from django.forms.utils import ErrorDict
from django.utils.dateparse import parse_datetime

from bookings.answers import AnswersForm, GuestForm
from bookings.models import BookingPage
from bookings.widgets import FastSelect

HONEYPOT_FIELD = "website"
HONEYPOT_ERROR = "honeypot"


class SlotField(forms.ChoiceField):
    """Offers the free slots grouped by day; accepts any well-formed slot start, so that a
    slot taken since the page was shown gets the clear "just taken" message from the
    service, not "select a valid choice"."""

    default_error_messages = {"invalid": "Pick one of the offered times."}

    def validate(self, value) -> None:
        forms.Field.validate(self, value)

    def clean(self, value) -> datetime.datetime | None:
        value = super().clean(value)
        try:
            parsed = parse_datetime(value) if value else None
        except ValueError:  # well-formed but impossible, e.g. 2030-02-30T09:00Z
            parsed = None
        if value and (parsed is None or parsed.tzinfo is None):
            raise ValidationError(self.error_messages["invalid"], code="invalid")
        return parsed


def slot_choices(slots: list[datetime.datetime], zone: zoneinfo.ZoneInfo, minutes: int):
    """Slots as <select> choices grouped by local day: [(day label, [(iso, "09:00 to 09:30")])]."""
    step = datetime.timedelta(minutes=minutes)
    local = [(s, s.astimezone(zone)) for s in slots]
    groups = []
    for day, items in groupby(local, key=lambda pair: pair[1].date()):
        options = [
            (utc.isoformat(), f"{loc:%H:%M} to {(utc + step).astimezone(zone):%H:%M}")
            for utc, loc in items
        ]
        groups.append((f"{day:%A %-d %B %Y}", options))
    return [("", "Choose a time…"), *groups]


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

    slot = SlotField(label="Time", widget=FastSelect)
    website = forms.CharField(
        required=False,
        label="Leave this field empty",
        widget=forms.TextInput(attrs={"tabindex": "-1", "autocomplete": "off"}),
    )

    field_order = ["slot", "timezone", "name", "email"]

    def __init__(
        self,
        *args,
        page: BookingPage,
        slots: list[datetime.datetime] | Callable[[], list[datetime.datetime]],
        zone: zoneinfo.ZoneInfo,
        **kwargs,
    ):
        super().__init__(*args, **kwargs)
        # Computed when the page is shown, not for a booking that goes through: the posted
        # slot is checked by the booking service itself (see SlotField).
        self.fields["slot"].choices = functools.cache(
            lambda: slot_choices(slots() if callable(slots) else slots, zone, page.duration_minutes)
        )
        self.fields["timezone"].initial = str(zone)
        self.fields["timezone"].help_text = "Times are shown in this time zone."

    @property
    def has_slots(self) -> bool:
        """Whether any time is free (the first choice is the "Choose a time…" prompt)."""
        return len(list(self.fields["slot"].choices)) > 1

    def clean_website(self) -> str:
        if self.cleaned_data.get(HONEYPOT_FIELD):
            raise ValidationError("Leave this field empty.", code=HONEYPOT_ERROR)
        return ""

    def is_bot(self) -> bool:
        return self.has_error(HONEYPOT_FIELD, code=HONEYPOT_ERROR)

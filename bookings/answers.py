"""Validation of what a guest submits, shared by the public page form and the API.

Each Question becomes one Django form field (`answer_field`). `answers_clean` and
`guest_clean` run the same fields over plain dicts (a JSON body, or values the page form
already cleaned: every field accepts its own output), so the two entry points cannot
drift apart. Answers come out typed for JSON storage:

text, textarea, email, phone, choice -> str (phone in E.164, e.g. "+442079460958");
number -> int or float; date -> "YYYY-MM-DD"; checkbox -> bool; multichoice -> list of str.
An optional question left blank is stored as None (checkbox: False; multichoice: []).
"""

import copy
import datetime
import decimal
import math
import zoneinfo
from collections.abc import Iterable
from typing import Any

import phonenumbers
from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from bookings.models import Booking, Question
from bookings.widgets import FastSelect

Kind = Question.Kind

DEFAULT_MAX_LENGTH = {Kind.TEXT: 255, Kind.TEXTAREA: 5000}
RADIO_MAX_CHOICES = 6  # more choices than this render as a drop-down
NUMBER_LIMIT = 10**15
TIMEZONE_CHOICES = tuple(sorted((z, z.replace("_", " ")) for z in zoneinfo.available_timezones()))
KNOWN_ZONES = frozenset(z for z, _ in TIMEZONE_CHOICES)


class TimezoneField(forms.ChoiceField):
    """An IANA zone name (TIMEZONE_CHOICES), blank allowed when not required.

    A ChoiceField deep-copies and re-normalizes its choices for every form instance and
    checks a value by walking them; for ~600 zones that was most of a booking's CPU. Here
    the choices are one list shared by every copy (nothing mutates it) and a value is
    checked by set lookup."""

    def __init__(self, **kwargs):
        super().__init__(choices=TIMEZONE_CHOICES, **kwargs)

    def __deepcopy__(self, memo):
        result = copy.copy(self)
        memo[id(self)] = result
        result.widget = copy.copy(self.widget)  # the widget's choices: the same list
        result.widget.attrs = self.widget.attrs.copy()
        result.error_messages = self.error_messages.copy()
        result.validators = self.validators[:]
        return result

    def valid_value(self, value) -> bool:
        return str(value) in KNOWN_ZONES


class PhoneField(forms.CharField):
    """An international phone number (+ and country code), cleaned to E.164."""

    default_error_messages = {
        "invalid": "Enter a valid phone number with its country code, e.g. +44 20 7946 0958."
    }

    def __init__(self, **kwargs):
        kwargs.setdefault("max_length", 40)
        kwargs.setdefault("widget", forms.TextInput(attrs={"type": "tel"}))
        super().__init__(**kwargs)
        self.widget.attrs.setdefault("autocomplete", "tel")

    def to_python(self, value: Any) -> str:
        value = super().to_python(value)
        if value in self.empty_values:
            return ""
        if value.startswith("00"):
            value = "+" + value[2:]
        try:
            number = phonenumbers.parse(value, None)
        except phonenumbers.NumberParseException:
            raise ValidationError(self.error_messages["invalid"], code="invalid") from None
        if not phonenumbers.is_valid_number(number):
            raise ValidationError(self.error_messages["invalid"], code="invalid")
        return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


class NumberField(forms.Field):
    """A finite number: int when it is whole, float otherwise."""

    widget = forms.NumberInput(attrs={"step": "any"})
    default_error_messages = {"invalid": "Enter a number."}

    def to_python(self, value: Any) -> int | float | None:
        if value in self.empty_values:
            return None
        if isinstance(value, bool) or not isinstance(value, int | float | str):
            raise ValidationError(self.error_messages["invalid"], code="invalid")
        try:
            number = decimal.Decimal(str(value).strip())
        except decimal.InvalidOperation:
            raise ValidationError(self.error_messages["invalid"], code="invalid") from None
        if not number.is_finite() or abs(number) >= NUMBER_LIMIT:
            raise ValidationError(self.error_messages["invalid"], code="invalid")
        if number == number.to_integral_value():
            return int(number)
        result = float(number)
        if not math.isfinite(result):
            raise ValidationError(self.error_messages["invalid"], code="invalid")
        return result


def _choice_field(question: Question, common: dict[str, Any]) -> forms.Field:
    options = [(c, c) for c in question.choices]
    if question.kind == Kind.MULTICHOICE:
        return forms.MultipleChoiceField(
            choices=options, widget=forms.CheckboxSelectMultiple, **common
        )
    if len(options) <= RADIO_MAX_CHOICES:
        return forms.ChoiceField(choices=options, widget=forms.RadioSelect, **common)
    return forms.ChoiceField(choices=[("", "Choose…"), *options], **common)


class DateField(forms.DateField):
    """A date as "YYYY-MM-DD" text: API clients may send any JSON value, and Django's
    DateField would crash on a number or a list instead of refusing it."""

    def to_python(self, value):
        if value not in self.empty_values and not isinstance(value, str | datetime.date):
            raise ValidationError(self.error_messages["invalid"], code="invalid")
        return super().to_python(value)


PHONE_MAX_LENGTH = 16  # E.164: "+" and at most 15 digits


def answer_max_length(question: Question) -> int | None:
    """The longest stored answer `question` can produce, None when not bounded by length
    (numbers, dates, choices: their values are what they are)."""
    if question.kind in DEFAULT_MAX_LENGTH:
        return question.max_length or DEFAULT_MAX_LENGTH[question.kind]
    if question.kind == Kind.PHONE:
        return PHONE_MAX_LENGTH
    return None


def answer_field(question: Question) -> forms.Field:
    """The form field that asks and validates `question`."""
    common = {
        "label": question.label,
        "help_text": question.help_text,
        "required": question.required,
    }
    kind = question.kind
    if kind in (Kind.TEXT, Kind.TEXTAREA):
        max_length = answer_max_length(question)
        widget = forms.Textarea(attrs={"rows": 4}) if kind == Kind.TEXTAREA else None
        return forms.CharField(max_length=max_length, widget=widget, **common)
    if kind == Kind.EMAIL:
        return forms.EmailField(widget=forms.EmailInput(attrs={"autocomplete": "off"}), **common)
    if kind == Kind.PHONE:
        return PhoneField(**common)
    if kind == Kind.NUMBER:
        return NumberField(**common)
    if kind == Kind.DATE:
        widget = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
        return DateField(input_formats=["%Y-%m-%d"], widget=widget, **common)
    if kind == Kind.CHECKBOX:
        return forms.BooleanField(**common)
    if kind in Question.CHOICE_KINDS:
        return _choice_field(question, common)
    raise ValueError(f"unknown question kind {kind!r}")


def answer_to_json(question: Question, value: Any) -> Any:
    """A cleaned field value in its stored JSON form (see the module docstring)."""
    if question.kind == Kind.CHECKBOX:
        return bool(value)
    if question.kind == Kind.MULTICHOICE:
        return list(value or [])
    if value in (None, ""):
        return None
    if isinstance(value, datetime.date):
        return value.isoformat()
    return value


class AnswersForm(forms.Form):
    """One field per question, named by the question's key."""

    required_css_class = "required"

    def __init__(self, *args, questions: Iterable[Question], **kwargs):
        super().__init__(*args, **kwargs)
        self.questions = {q.key: q for q in questions}
        for key, question in self.questions.items():
            self.fields[key] = answer_field(question)

    def answers(self) -> dict[str, Any]:
        """The cleaned answers, typed for storage. Call after is_valid()."""
        return {k: answer_to_json(q, self.cleaned_data.get(k)) for k, q in self.questions.items()}


class GuestForm(forms.Form):
    """What every booking asks besides the page's questions."""

    required_css_class = "required"

    name = forms.CharField(
        label=_("Your name"), max_length=200, widget=forms.TextInput(attrs={"autocomplete": "name"})
    )
    email = forms.EmailField(
        max_length=Booking._meta.get_field("guest_email").max_length,  # 254, not 320
        label=_("Your email"),
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
    )
    timezone = TimezoneField(label=_("Show times in"), required=False, widget=FastSelect)


def answers_clean(questions: Iterable[Question], answers: Any) -> dict[str, Any]:
    """Validate `answers` (a dict keyed by question key) and return them typed for storage.

    Raises ValidationError with a dict of errors keyed "answers.<key>" ("answers" itself
    when the value is not a dict or names unknown questions).
    """
    if not isinstance(answers, dict):
        raise ValidationError({"answers": ["Send the answers as an object keyed by question."]})
    form = AnswersForm(data=answers, questions=questions)
    errors = {f"answers.{key}": list(messages) for key, messages in form.errors.items()}
    unknown = sorted(set(answers) - set(form.questions))
    if unknown:
        errors["answers"] = [f"Unknown question: {key}." for key in unknown]
    if errors:
        raise ValidationError(errors)
    return form.answers()


def guest_clean(*, name: Any, email: Any, timezone: Any) -> dict[str, str]:
    """Validate the guest's name, email and (optional) time zone; returns them cleaned.

    Raises ValidationError with a dict of errors keyed "name", "email", "timezone".
    """
    form = GuestForm(data={"name": name, "email": email, "timezone": timezone or ""})
    if not form.is_valid():
        raise ValidationError({key: list(messages) for key, messages in form.errors.items()})
    return form.cleaned_data

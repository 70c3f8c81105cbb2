"""FastSelect renders what Django's Select renders, without a template per option."""

import re

import pytest
from django import forms

from bookings.answers import TIMEZONE_CHOICES
from bookings.widgets import FastSelect

CHOICES = [
    ("", "Choose a time…"),
    ("Monday 7 January 2030", [("2030-01-07T09:00:00+00:00", "09:00 to 09:30 <b>")]),
    ("x&y", [("a'b", 'say "hi"'), ("c", "C")]),
    ("z", "Z"),
]


def squeeze(html: str) -> str:
    return re.sub(r">\s+<", "><", html).strip()


@pytest.mark.parametrize("value", ["", "c", "a'b", "2030-01-07T09:00:00+00:00", None, "nope"])
def test_fast_select_renders_exactly_djangos_markup(value):
    attrs = {"id": "id_slot", "required": True, "aria-describedby": "id_slot_helptext"}
    expected = forms.Select(choices=CHOICES).render("slot", value, attrs)
    assert squeeze(FastSelect(choices=CHOICES).render("slot", value, attrs)) == squeeze(expected)


def test_the_time_zone_list_is_the_same_too():
    expected = forms.Select(choices=TIMEZONE_CHOICES).render("timezone", "Asia/Tokyo")
    rendered = FastSelect(choices=TIMEZONE_CHOICES).render("timezone", "Asia/Tokyo")
    assert squeeze(rendered) == squeeze(expected)
    assert rendered.count(" selected") == 1

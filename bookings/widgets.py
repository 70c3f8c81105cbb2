"""A <select> rendered without a template per <option>.

Django renders each option through its own template, which for the public page's ~600
time zones and a fortnight of slots was most of the page's time. The markup is Django's
(option values, optgroups, `selected`); the option list of a choices object is built once
per process and only the selected option changes per request.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import lru_cache
from typing import Any

from django import forms
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe


def _option(value: Any, label: Any) -> tuple[str, str]:
    """(the option's value, its HTML with a {selected} slot)."""
    text = "" if value is None else str(value)
    return text, f'<option value="{escape(text)}"{{selected}}>{escape(label)}</option>'


def _options(choices: Iterable) -> list[tuple[str | None, list[tuple[str, str]]]]:
    """[(group label or None, [(value, option html)])] from Django-style choices."""
    out: list[tuple[str | None, list[tuple[str, str]]]] = []
    for value, label in choices:
        if isinstance(label, list | tuple):
            out.append((str(value), [_option(v, lbl) for v, lbl in label]))
        else:
            out.append((None, [_option(value, label)]))
    return out


def _attributes(attrs: dict[str, Any]) -> str:
    """Attributes in their order, as Django's widget templates write them (True: the bare
    name; False / None: left out)."""
    out = []
    for key, value in attrs.items():
        if value is True:
            out.append(f" {key}")
        elif value is not False and value is not None:
            out.append(f' {key}="{escape(value)}"')
    return "".join(out)


@lru_cache(maxsize=8)
def _static_options(choices: tuple) -> list[tuple[str | None, list[tuple[str, str]]]]:
    return _options(choices)


class FastSelect(forms.Select):
    """forms.Select, rendered by joining strings. Choices given as a tuple are treated as
    fixed and their option list is built once."""

    def render(
        self, name: str, value: Any, attrs: dict | None = None, renderer: Any = None
    ) -> SafeString:
        chosen = "" if value is None else str(value[0] if isinstance(value, list) else value)
        choices = self.choices
        groups = _static_options(choices) if isinstance(choices, tuple) else _options(choices)
        final = {"name": name, **self.build_attrs(self.attrs, attrs)}
        parts = [f"<select{_attributes(final)}>"]
        for group, options in groups:
            if group is not None:
                parts.append(f'<optgroup label="{escape(group)}">')
            for option_value, html in options:
                parts.append(html.format(selected=" selected" if option_value == chosen else ""))
            if group is not None:
                parts.append("</optgroup>")
        parts.append("</select>")
        return mark_safe("".join(parts))  # noqa: S308 - every value and label is escaped

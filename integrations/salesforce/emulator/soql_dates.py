"""SOQL date and datetime literals as half-open UTC ranges ``[start, end)``.

``2024-05-01`` is the whole day; ``2024-05-01T10:00:00Z`` one instant; ``TODAY``,
``YESTERDAY``, ``TOMORROW``, ``LAST_WEEK`` / ``THIS_WEEK`` / ``NEXT_WEEK`` (weeks start on
Sunday), ``LAST_MONTH`` / ``THIS_MONTH`` / ``NEXT_MONTH``, ``LAST_YEAR`` / ``THIS_YEAR`` /
``NEXT_YEAR``, ``LAST_90_DAYS`` / ``NEXT_90_DAYS``, ``LAST_N_DAYS:n`` (today and the n days
before it), ``NEXT_N_DAYS:n`` (the n days after today), ``N_DAYS_AGO:n``. The org's time
zone is UTC. Source: SOQL and SOSL Reference, "Date Formats and Date Literals".

A comparison against a range: ``=`` inside, ``<`` before its start, ``<=`` before its
end, ``>`` at or after its end, ``>=`` at or after its start.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,3})?(Z|[+-]\d{2}:\d{2})$")
_N_LITERAL = re.compile(r"^(LAST_N_DAYS|NEXT_N_DAYS|N_DAYS_AGO):(\d+)$", re.IGNORECASE)
_TICK = timedelta(microseconds=1)


@dataclass(frozen=True)
class DateRange:
    start: datetime
    end: datetime  # exclusive

    def compare(self, op: str, value: datetime) -> bool:
        inside = self.start <= value < self.end
        return {
            "=": inside,
            "!=": not inside,
            "<": value < self.start,
            "<=": value < self.end,
            ">": value >= self.end,
            ">=": value >= self.start,
        }[op]


def _day(day: date, days: int = 1) -> DateRange:
    start = datetime(day.year, day.month, day.day, tzinfo=UTC)
    return DateRange(start, start + timedelta(days=days))


def _month_start(day: date, shift: int) -> date:
    months = day.year * 12 + day.month - 1 + shift
    return date(months // 12, months % 12 + 1, 1)


def literal(text: str, kind: str, now: datetime) -> DateRange:
    """A literal as a range; raises ValueError naming what is wrong."""
    if _DATE.match(text):
        if kind == "datetime":
            raise ValueError(f"value of filter criterion must be of type dateTime: {text}")
        return _day(date.fromisoformat(text))
    if _DATETIME.match(text):
        moment = datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)
        return DateRange(moment, moment + _TICK)
    today = now.astimezone(UTC).date()
    upper = text.upper()
    numbered = _N_LITERAL.match(text)
    if numbered:
        name, n = numbered.group(1).upper(), int(numbered.group(2))
        if name == "LAST_N_DAYS":
            return DateRange(_day(today - timedelta(days=n)).start, _day(today).end)
        if name == "NEXT_N_DAYS":
            return _day(today + timedelta(days=1), n)
        return _day(today - timedelta(days=n))
    week_start = today - timedelta(days=(today.weekday() + 1) % 7)  # Sunday
    simple = {
        "TODAY": _day(today),
        "YESTERDAY": _day(today - timedelta(days=1)),
        "TOMORROW": _day(today + timedelta(days=1)),
        "THIS_WEEK": _day(week_start, 7),
        "LAST_WEEK": _day(week_start - timedelta(days=7), 7),
        "NEXT_WEEK": _day(week_start + timedelta(days=7), 7),
        "LAST_90_DAYS": DateRange(_day(today - timedelta(days=90)).start, _day(today).end),
        "NEXT_90_DAYS": _day(today + timedelta(days=1), 90),
    }
    if upper in simple:
        return simple[upper]
    for shift, prefix in ((-1, "LAST_"), (0, "THIS_"), (1, "NEXT_")):
        if upper == prefix + "MONTH":
            first = _month_start(today, shift)
            return DateRange(_day(first).start, _day(_month_start(first, 1)).start)
        if upper == prefix + "YEAR":
            year = today.year + shift
            return DateRange(_day(date(year, 1, 1)).start, _day(date(year + 1, 1, 1)).start)
    raise ValueError(f"unsupported date literal: {text}")


def field_moment(value: Any) -> datetime | None:
    """A stored date (``2024-05-01``) or datetime (``...T10:00:00.000+0000``) as UTC."""
    if not isinstance(value, str):
        return None
    if _DATE.match(value):
        return _day(date.fromisoformat(value)).start
    text = value
    if re.search(r"[+-]\d{4}$", text):
        text = text[:-2] + ":" + text[-2:]
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)
    except ValueError:
        return None

"""Build the record LeadSync posts to Salesforce: the one place, for the preview and the push.

The Django layer gathers a booking's raw values (answers, booking facts, URL parameters) into
``SourceValues``; ``record_build`` picks each mapping's value and converts it to Salesforce's
wire format for the target field's type. ``record_check`` (in ``record_check.py``) then
refuses, with our own message, what Salesforce would refuse.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, tzinfo
from decimal import ROUND_HALF_UP, Decimal
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from .mapping import MappingSpec, SourceKind
from .schema import STRING_TYPES, Describe, FieldFacts, fields_by_name

_TRUE = frozenset({"true", "yes", "y", "1", "on", "checked"})
_FALSE = frozenset({"false", "no", "n", "0", "off", "unchecked"})


@dataclass(frozen=True)
class SourceValues:
    """One booking's raw values, resolved by the Django layer.

    ``answers`` by question key (str, list[str] for multichoice, bool, number, date or ISO
    string); ``booking`` by booking-fact key (see ``mapping.booking_facts_build``);
    ``url_params`` as the booking page URL carried them (str or list of str per key).
    """

    answers: Mapping[str, Any] = field(default_factory=dict)
    booking: Mapping[str, Any] = field(default_factory=dict)
    url_params: Mapping[str, Any] = field(default_factory=dict)

    @property
    def tz(self) -> tzinfo:
        """The booking's time zone (for date answers sent to datetime fields); UTC if unknown."""
        try:
            return ZoneInfo(str(self.booking.get("timezone") or "UTC"))
        except (ZoneInfoNotFoundError, ValueError):
            return UTC


@dataclass(frozen=True)
class UnusedUrlKey:
    """A URL parameter key bookings carried that no mapping posts.

    ``suggestion`` is the insertable field whose API name equals the key ignoring case, if
    any: map a URL parameter to it, and if the case differs fix the links, since
    ``leadsource`` is never posted to ``LeadSource`` (rule 7).
    """

    key: str
    suggestion: str | None = None


def url_param_value(url_params: Mapping[str, Any], sf_field: str) -> str | None:
    """Rule 7: the value of the URL parameter whose key equals ``sf_field`` exactly.

    Keys are case-sensitive; no other key is ever read. A repeated key yields its first
    non-blank value. Returns the trimmed value, or None when absent or blank.
    """
    raw = url_params.get(sf_field)
    candidates = raw if isinstance(raw, list | tuple) else [raw]
    for candidate in candidates:
        if isinstance(candidate, str) and candidate.strip():
            return candidate.strip()
    return None


def unused_url_keys(
    url_params_seen: Iterable[str],
    mappings: Iterable[MappingSpec],
    *,
    describe: Describe | None = None,
) -> list[UnusedUrlKey]:
    """The URL parameter keys (e.g. from recent bookings) that no URL-parameter mapping posts.

    Sorted by key. With ``describe``, each key that names an insertable field, ignoring
    case, carries that field's exact API name as a suggestion.
    """
    used = {m.sf_field for m in mappings if m.source_kind is SourceKind.URL_PARAM}
    twins: dict[str, str] = {}
    if describe is not None:
        twins = {
            facts.name.casefold(): facts.name
            for facts in fields_by_name(describe).values()
            if facts.insertable()
        }
    return [
        UnusedUrlKey(key=key, suggestion=twins.get(key.casefold()))
        for key in sorted(set(url_params_seen) - used)
    ]


def source_value(spec: MappingSpec, values: SourceValues) -> Any:
    """The raw value a mapping's source yields for one booking (None if it has none)."""
    if spec.source_kind is SourceKind.QUESTION:
        return values.answers.get(spec.source_key)
    if spec.source_kind is SourceKind.BOOKING:
        return values.booking.get(spec.source_key)
    if spec.source_kind is SourceKind.URL_PARAM:
        return url_param_value(values.url_params, spec.sf_field)
    return spec.constant_value


def is_blank(value: Any) -> bool:
    """None, a blank string, or a list of blanks. False and 0 are values, not blanks."""
    if value is None:
        return True
    if isinstance(value, str):
        return not value.strip()
    if isinstance(value, list | tuple | set | frozenset):
        return all(is_blank(item) for item in value)
    return False


def wire_value(
    facts: FieldFacts, value: Any, *, accept_truncation: bool = False, tz: tzinfo = UTC
) -> Any:
    """``value`` in Salesforce's wire format for the field, or None if blank (omit it).

    date → ``YYYY-MM-DD``; datetime → ``YYYY-MM-DDTHH:MM:SS.mmm+0000`` in UTC (aware
    datetimes only; a date becomes midnight in ``tz``); boolean from bool or
    true/false/yes/no/1/0/on/off; int; double/currency/percent rounded half-up to the field's
    scale; multipicklist ``;``-joined; picklist labels become their API value; text trimmed,
    and cut to the field's length only when ``accept_truncation``. A value that cannot be
    converted is returned as is (as a string unless JSON-ready) for ``record_check`` to
    report, never dropped.
    """
    if is_blank(value):
        return None
    converter = _CONVERTERS.get(facts.type, _to_text)
    try:
        converted = converter(facts, value, tz)
    except (ValueError, TypeError, ArithmeticError):
        return value if isinstance(value, str | bool | int | float) else str(value)
    if (
        accept_truncation
        and isinstance(converted, str)
        and facts.type in STRING_TYPES
        and 0 < facts.length < len(converted)
    ):
        converted = converted[: facts.length].rstrip()
    return converted


def record_build(
    *, describe: Describe, mappings: Iterable[MappingSpec], values: SourceValues
) -> dict[str, Any]:
    """The record to post: ``{field API name: wire value}`` for every mapping with a value.

    Blank values are omitted, never sent as empty strings (required fields left out are
    reported by ``record_check``). A mapping whose field the describe lacks is kept as text
    so ``record_check`` reports it (INVALID_FIELD). If two mappings target one field (which
    ``mapping_problems`` refuses) the first non-blank value wins.
    """
    facts_by_name = fields_by_name(describe)
    tz = values.tz
    record: dict[str, Any] = {}
    for spec in mappings:
        if spec.sf_field in record:
            continue
        raw = source_value(spec, values)
        facts = facts_by_name.get(spec.sf_field)
        if facts is None:
            wire = None if is_blank(raw) else _text(raw)
        else:
            wire = wire_value(facts, raw, accept_truncation=spec.accept_truncation, tz=tz)
        if wire is not None:
            record[spec.sf_field] = wire
    return record


def datetime_format(value: datetime) -> str:
    """An aware datetime in Salesforce's format, ``2024-05-01T14:30:00.000+0000`` (UTC)."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError("naive datetime: its instant is unknown")
    utc = value.astimezone(UTC)
    return f"{utc:%Y-%m-%dT%H:%M:%S}.{utc.microsecond // 1000:03d}+0000"


# -- converters: (facts, value, tz) -> wire value; raise ValueError when impossible ----------


def _text(value: Any) -> str:
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return datetime_format(value) if value.tzinfo else value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal | float):
        return format(Decimal(str(value)).normalize(), "f")
    if isinstance(value, list | tuple):
        return "; ".join(_text(item) for item in value if not is_blank(item))
    return str(value).strip()


def _to_text(facts: FieldFacts, value: Any, tz: tzinfo) -> str:
    return _text(value)


def _to_picklist(facts: FieldFacts, value: Any, tz: tzinfo) -> str:
    text = _text(value)
    return facts.picklist_value_for(text) or text


def _to_multipicklist(facts: FieldFacts, value: Any, tz: tzinfo) -> str:
    items = value if isinstance(value, list | tuple | set) else _text(value).split(";")
    chosen = [_text(item) for item in items if not is_blank(item)]
    return ";".join(facts.picklist_value_for(item) or item for item in chosen)


def _to_boolean(facts: FieldFacts, value: Any, tz: tzinfo) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    text = _text(value).casefold()
    if text in _TRUE or text in _FALSE:
        return text in _TRUE
    raise ValueError(f"not a yes/no value: {value!r}")


def _decimal(value: Any) -> Decimal:
    if isinstance(value, bool):
        raise TypeError("a checkbox is not a number")
    number = Decimal(value.strip()) if isinstance(value, str) else Decimal(str(value))
    if not number.is_finite():
        raise ValueError(f"not a finite number: {value!r}")
    return number


def _to_int(facts: FieldFacts, value: Any, tz: tzinfo) -> int:
    number = _decimal(value)
    if number != number.to_integral_value():
        raise ValueError(f"not a whole number: {value!r}")
    return int(number)


def _to_number(facts: FieldFacts, value: Any, tz: tzinfo) -> int | float:
    # Salesforce rounds half-up to the field's scale; doing it here keeps the preview honest.
    rounded = _decimal(value).quantize(Decimal(1).scaleb(-facts.scale), rounding=ROUND_HALF_UP)
    return int(rounded) if facts.scale == 0 else float(rounded)


def _parse_datetime(value: Any, tz: tzinfo) -> datetime:
    if isinstance(value, datetime):
        return value
    if isinstance(value, date):
        return datetime.combine(value, time(0), tzinfo=tz)
    text = _text(value)
    if len(text) == 10:  # a bare date: midnight where the booking happens
        return datetime.combine(date.fromisoformat(text), time(0), tzinfo=tz)
    return datetime.fromisoformat(text)


def _to_date(facts: FieldFacts, value: Any, tz: tzinfo) -> str:
    if isinstance(value, date) and not isinstance(value, datetime):
        return value.isoformat()
    text = "" if isinstance(value, datetime) else _text(value)
    if len(text) == 10:
        return date.fromisoformat(text).isoformat()
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(text)
    # A moment's date where the booking happens: an evening meeting in Los Angeles is
    # already tomorrow in UTC, which is how the database hands it over.
    if moment.tzinfo is not None:
        moment = moment.astimezone(tz)
    return moment.date().isoformat()


def _to_datetime(facts: FieldFacts, value: Any, tz: tzinfo) -> str:
    return datetime_format(_parse_datetime(value, tz))


def _to_time(facts: FieldFacts, value: Any, tz: tzinfo) -> str:
    moment = value if isinstance(value, time) else time.fromisoformat(_text(value))
    return f"{moment:%H:%M:%S}.{moment.microsecond // 1000:03d}Z"


_CONVERTERS = {
    "picklist": _to_picklist,
    "multipicklist": _to_multipicklist,
    "boolean": _to_boolean,
    "int": _to_int,
    "double": _to_number,
    "currency": _to_number,
    "percent": _to_number,
    "date": _to_date,
    "datetime": _to_datetime,
    "time": _to_time,
}

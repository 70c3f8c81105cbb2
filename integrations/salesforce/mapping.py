"""Plain descriptions of field mappings, their sources and the problems found with them.

A ``MappingSpec`` is what the Django layer hands to the pure checks (``mapping_rules``) and
to the payload builder (``payload``): one Salesforce field fed by one source. Sources are a
question's answer, a booking fact (catalogue below), a URL parameter or a constant.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any


class SourceKind(StrEnum):
    QUESTION = "question"
    BOOKING = "booking"
    URL_PARAM = "url_param"
    CONSTANT = "constant"


# Source types: the question kinds of bookings.Question, plus the types of booking facts.
TEXT = "text"
TEXTAREA = "textarea"
EMAIL = "email"
PHONE = "phone"
CHOICE = "choice"
MULTICHOICE = "multichoice"
NUMBER = "number"
DATE = "date"
CHECKBOX = "checkbox"
DATETIME = "datetime"
URL = "url"
SOURCE_TYPES = frozenset(
    {TEXT, TEXTAREA, EMAIL, PHONE, CHOICE, MULTICHOICE, NUMBER, DATE, CHECKBOX, DATETIME, URL}
)


class Code(StrEnum):
    """Problem codes. Salesforce's own error codes where one fits, so the dashboard can group
    a mapping problem found at save time with the same refusal seen at send time."""

    REQUIRED_FIELD_MISSING = "REQUIRED_FIELD_MISSING"
    STRING_TOO_LONG = "STRING_TOO_LONG"
    INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST = "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST"
    INVALID_EMAIL_ADDRESS = "INVALID_EMAIL_ADDRESS"
    INVALID_FIELD_FOR_INSERT_UPDATE = "INVALID_FIELD_FOR_INSERT_UPDATE"
    INVALID_FIELD = "INVALID_FIELD"
    INVALID_TYPE_ON_FIELD_IN_RECORD = "INVALID_TYPE_ON_FIELD_IN_RECORD"
    NUMBER_OUTSIDE_VALID_RANGE = "NUMBER_OUTSIDE_VALID_RANGE"
    # LeadSync's own: problems Salesforce cannot see because they are about the source.
    REQUIRED_FIELD_MAY_BE_BLANK = "REQUIRED_FIELD_MAY_BE_BLANK"
    INCOMPATIBLE_SOURCE = "INCOMPATIBLE_SOURCE"
    PICKLIST_VALUE_UNKNOWN = "PICKLIST_VALUE_UNKNOWN"
    DUPLICATE_MAPPING = "DUPLICATE_MAPPING"
    UNKNOWN_SOURCE = "UNKNOWN_SOURCE"
    URL_PARAM_KEY_MISMATCH = "URL_PARAM_KEY_MISMATCH"


class Severity(StrEnum):
    ERROR = "error"  # the mapping admin refuses to save; the push would fail
    WARNING = "warning"  # saved, but shown: some bookings may fail or lose data


@dataclass(frozen=True)
class Problem:
    """One human-readable problem: which Salesforce field, what is wrong, how to fix it."""

    field: str
    code: Code
    message: str
    fix: str
    severity: Severity = Severity.ERROR

    @property
    def is_error(self) -> bool:
        return self.severity is Severity.ERROR


@dataclass(frozen=True)
class MappingSpec:
    """One Salesforce field fed by one source, as the pure checks see it.

    - ``source_key``: the question key or booking fact key. Ignored for ``url_param``
      (rule 7: the parameter read is the one named exactly ``sf_field``) and ``constant``.
    - ``source_type``: the question kind; for booking facts taken from ``BOOKING_FACTS``
      when left empty. URL parameters are always ``text``.
    - ``source_required``: the question is required (never blank). Booking facts,
      URL parameters and constants decide this themselves (see ``mapping_never_blank``).
    - ``source_max_length``: the longest value the source can produce, None if unbounded.
    - ``source_choices``: the values a choice / multichoice question offers.
    - ``accept_truncation``: staff accepted cutting long values to the field's length.
    """

    sf_field: str
    source_kind: SourceKind
    source_key: str = ""
    constant_value: str = ""
    source_type: str = ""
    source_required: bool = False
    source_max_length: int | None = None
    source_choices: tuple[str, ...] = ()
    accept_truncation: bool = False

    @property
    def effective_source_type(self) -> str:
        """The source's type: URL parameters and constants are text, facts from the catalogue."""
        if self.source_kind in (SourceKind.URL_PARAM, SourceKind.CONSTANT):
            return TEXT
        if self.source_kind is SourceKind.BOOKING and not self.source_type:
            fact = BOOKING_FACTS.get(self.source_key)
            return fact.type if fact else ""
        return self.source_type

    @property
    def source_display(self) -> str:
        """How messages name the source, e.g. ``question "company"``."""
        if self.source_kind is SourceKind.QUESTION:
            return f'question "{self.source_key}"'
        if self.source_kind is SourceKind.BOOKING:
            return f'booking fact "{self.source_key}"'
        if self.source_kind is SourceKind.URL_PARAM:
            return f'URL parameter "{self.sf_field}"'
        return f'constant "{self.constant_value}"'


@dataclass(frozen=True)
class BookingFact:
    """A value every booking has, offered as a mapping source."""

    key: str
    label: str
    type: str
    never_blank: bool
    max_length: int | None = None


BOOKING_FACTS: dict[str, BookingFact] = {
    fact.key: fact
    for fact in (
        BookingFact("guest_first_name", "Guest first name", TEXT, never_blank=False),
        BookingFact("guest_last_name", "Guest last name", TEXT, never_blank=True),
        BookingFact("guest_email", "Guest email", EMAIL, never_blank=True, max_length=254),
        BookingFact("starts_at", "Meeting start", DATETIME, never_blank=True),
        BookingFact("ends_at", "Meeting end", DATETIME, never_blank=True),
        BookingFact("page_title", "Booking page title", TEXT, never_blank=True),
        BookingFact("booking_id", "Booking id", TEXT, never_blank=True, max_length=64),
        BookingFact("booking_url", "Booking link", URL, never_blank=True),
        BookingFact("timezone", "Booking time zone", TEXT, never_blank=True, max_length=64),
        BookingFact("created_at", "Booked at", DATETIME, never_blank=True),
    )
}


def name_split(full_name: str) -> tuple[str, str]:
    """Split a guest's full name into ``(first, last)``.

    The last whitespace-separated token is the last name and the rest the first name; a
    single token is a last name with a blank first name (Salesforce requires LastName, not
    FirstName). ``"  Ada   King  Lovelace "`` gives ``("Ada King", "Lovelace")``.
    """
    tokens = full_name.split()
    if not tokens:
        return "", ""
    return " ".join(tokens[:-1]), tokens[-1]


def mapping_never_blank(spec: MappingSpec) -> bool:
    """True if the mapping's source always yields a value (what rule 5 demands).

    A question is never blank when required; a booking fact per the catalogue; a constant
    when it is not blank; a URL parameter never is (any booking link can omit it).
    """
    if spec.source_kind is SourceKind.QUESTION:
        return spec.source_required
    if spec.source_kind is SourceKind.BOOKING:
        fact = BOOKING_FACTS.get(spec.source_key)
        return bool(fact and fact.never_blank)
    if spec.source_kind is SourceKind.CONSTANT:
        return bool(spec.constant_value.strip())
    return False


def booking_facts_build(
    *,
    guest_name: str,
    guest_email: str,
    starts_at: Any,
    ends_at: Any,
    page_title: str,
    booking_id: str,
    booking_url: str,
    timezone: str,
    created_at: Any,
) -> dict[str, Any]:
    """The booking-fact values of one booking, keyed like ``BOOKING_FACTS``.

    Datetimes are passed through (aware, any zone); the payload converts them to UTC.
    """
    first, last = name_split(guest_name)
    return {
        "guest_first_name": first,
        "guest_last_name": last,
        "guest_email": guest_email.strip(),
        "starts_at": starts_at,
        "ends_at": ends_at,
        "page_title": page_title,
        "booking_id": str(booking_id),
        "booking_url": booking_url,
        "timezone": timezone,
        "created_at": created_at,
    }

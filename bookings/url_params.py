"""URL parameters a guest arrives with (`?utm_source=ads&LeadSource=Web`), kept for mapping.

Captured as sent: keys keep their case, values are percent-decoded but otherwise
untouched. Limits keep a hostile URL from bloating a booking; they never refuse one:

- at most MAX_PARAMS parameters (later ones are dropped);
- a key longer than MAX_KEY_LENGTH is dropped (a cut key would name a different field);
- a value longer than MAX_VALUE_LENGTH is cut to that length;
- a key sent more than once keeps its first value; empty keys are dropped;
- NUL characters and unpaired surrogates (which PostgreSQL cannot store) are removed.
"""

from typing import Any
from urllib.parse import unquote_plus

MAX_PARAMS = 50
MAX_KEY_LENGTH = 100
MAX_VALUE_LENGTH = 1000
MAX_QUERY_LENGTH = MAX_PARAMS * (MAX_KEY_LENGTH + MAX_VALUE_LENGTH) * 4  # in raw characters


def _text(value: str) -> str:
    return value.replace("\x00", "").encode("utf-8", "replace").decode("utf-8")


def url_params_limit(params: Any) -> dict[str, str]:
    """Apply the limits to a mapping of parameters (e.g. from the API). Non-text scalar
    values become text; lists keep their first item; other values are dropped."""
    if not isinstance(params, dict):
        return {}
    kept: dict[str, str] = {}
    for key, value in params.items():
        if len(kept) >= MAX_PARAMS:
            break
        if isinstance(value, list):
            value = value[0] if value else ""
        if isinstance(value, bool) or value is None:
            value = "" if value is None else str(value).lower()
        if not isinstance(key, str) or not isinstance(value, str | int | float):
            continue
        key = _text(key)
        if key and len(key) <= MAX_KEY_LENGTH and key not in kept:
            kept[key] = _text(str(value))[:MAX_VALUE_LENGTH]
    return kept


def url_params_from_query(query_string: str) -> dict[str, str]:
    """Parse a raw query string within the limits. Never raises on malformed input.

    Django's own `request.GET` refuses (400) more than DATA_UPLOAD_MAX_NUMBER_FIELDS
    parameters; parsing the string ourselves keeps such a URL bookable.
    """
    kept: dict[str, str] = {}
    for pair in query_string[:MAX_QUERY_LENGTH].split("&"):
        if len(kept) >= MAX_PARAMS:
            break
        if not pair:
            continue
        raw_key, _, raw_value = pair.partition("=")
        key = _text(unquote_plus(raw_key, errors="replace"))
        if key and len(key) <= MAX_KEY_LENGTH and key not in kept:
            kept[key] = _text(unquote_plus(raw_value, errors="replace"))[:MAX_VALUE_LENGTH]
    return kept

"""Salesforce-shaped record ids: 3-char key prefix, pod, counter, 3-char case checksum."""

from __future__ import annotations

import re

_BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_CHECKSUM_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"
_ID_RE = re.compile(r"^[a-zA-Z0-9]{15}(?:[a-zA-Z0-9]{3})?$")

# The two characters after the key prefix name the pod ("5g" as in the reference's captures).
POD = "5g"


def _base62(number: int, width: int) -> str:
    digits = []
    for _ in range(width):
        number, rem = divmod(number, 62)
        digits.append(_BASE62[rem])
    return "".join(reversed(digits))


def id_checksum(id15: str) -> str:
    """Return the 3-char suffix that makes a 15-char id case-insensitively unique.

    Each 5-char chunk gives a 5-bit mask of which characters are upper case.
    """
    suffix = ""
    for chunk in (id15[0:5], id15[5:10], id15[10:15]):
        bits = sum(1 << i for i, char in enumerate(chunk) if "A" <= char <= "Z")
        suffix += _CHECKSUM_ALPHABET[bits]
    return suffix


def make_id(key_prefix: str, number: int) -> str:
    """Return an 18-char id like ``00Q5g00000DZ0d4EAD`` for the given prefix and counter."""
    id15 = f"{key_prefix}{POD}0{_base62(number, 9)}"
    return id15 + id_checksum(id15)


def looks_like_id(value: object) -> bool:
    """True when value has the shape of a 15- or 18-char Salesforce id."""
    return isinstance(value, str) and bool(_ID_RE.match(value))


def to_18(value: str) -> str:
    """Normalise a 15- or 18-char id to its 18-char form."""
    return value if len(value) == 18 else value + id_checksum(value)

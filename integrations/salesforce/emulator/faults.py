"""Fault switches of the emulated org, their defaults, and validation of updates.

Faults are a plain dict so the admin API can show and merge them as JSON.
"""

from __future__ import annotations

import copy
from typing import Any

DEFAULT_FAULTS: dict[str, Any] = {
    # Connected App / user policies (DESIGN.md "Salesforce rules", reference §2).
    "app_blocked": False,
    "admin_approved_only": False,
    "ip_restricted": False,
    "refresh_token_policy": "infinite",  # "infinite" | "zero"
    "refresh_token_rotation": False,
    "user_inactive": False,
    "access_token_ttl": 7200,  # seconds; fixed into each token when it is issued
    # Transport and platform faults.
    "latency_ms": 0,
    "rate_503": 0.0,
    "rate_lock": 0.0,
    "fail_next": [],
    "timeout_after_write_seconds": 10.0,
    "daily_api_limit": 15000,
    "api_disabled": False,
}

REFRESH_POLICIES = ("infinite", "zero")
# Which calls consume which queued fault (first matching entry wins, see take_fail_next).
FAIL_NEXT_KINDS = {
    "503": "rest",
    "request_limit": "rest",
    "lock": "write",
    "timeout_after_write": "write",
    "token_in_progress": "refresh",
}

_TYPES: dict[str, tuple[type, ...]] = {
    "app_blocked": (bool,),
    "admin_approved_only": (bool,),
    "ip_restricted": (bool,),
    "refresh_token_policy": (str,),
    "refresh_token_rotation": (bool,),
    "user_inactive": (bool,),
    "access_token_ttl": (int, float),
    "latency_ms": (int, float),
    "rate_503": (int, float),
    "rate_lock": (int, float),
    "fail_next": (list,),
    "timeout_after_write_seconds": (int, float),
    "daily_api_limit": (int,),
    "api_disabled": (bool,),
}


def default_faults() -> dict[str, Any]:
    return copy.deepcopy(DEFAULT_FAULTS)


def validate_faults(update: dict[str, Any]) -> dict[str, Any]:
    """Check a partial fault dict; return it (deep-copied) or raise ValueError with the reason."""
    if not isinstance(update, dict):
        raise ValueError("faults must be a JSON object")
    for key, value in update.items():
        if key not in DEFAULT_FAULTS:
            raise ValueError(f"unknown fault {key!r}; known: {sorted(DEFAULT_FAULTS)}")
        types = _TYPES[key]
        if not isinstance(value, types) or (bool not in types and isinstance(value, bool)):
            raise ValueError(f"fault {key!r} has the wrong type: {value!r}")
    if update.get("refresh_token_policy", "infinite") not in REFRESH_POLICIES:
        raise ValueError(f"refresh_token_policy must be one of {REFRESH_POLICIES}")
    for item in update.get("fail_next", []):
        if item not in FAIL_NEXT_KINDS:
            raise ValueError(f"unknown fail_next entry {item!r}; known: {sorted(FAIL_NEXT_KINDS)}")
    for key in ("rate_503", "rate_lock"):
        if key in update and not 0 <= update[key] <= 1:
            raise ValueError(f"{key} is a probability between 0 and 1")
    return copy.deepcopy(update)


def take_fail_next(faults: dict[str, Any], kinds: set[str]) -> str | None:
    """Pop and return the first queued fault that applies to a call of the given kinds.

    Entries for other kinds of call stay queued, so e.g. a queued "token_in_progress"
    does not block a "503" meant for the next data call. Caller holds the org lock.
    """
    queue = faults["fail_next"]
    for index, item in enumerate(queue):
        if FAIL_NEXT_KINDS[item] in kinds:
            del queue[index]
            return item
    return None

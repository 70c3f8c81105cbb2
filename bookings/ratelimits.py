"""Rate limits of booking submissions (django-ratelimit over the default cache).

The cache (Redis in production) only guards against floods; it never decides whether a
booking is taken. When it cannot be reached the submission is let through and a warning
logged: the database, not Redis, decides what is accepted (DESIGN.md, "Intake never
depends on Redis").
"""

import logging
import re

from allauth.account.adapter import get_adapter
from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django_ratelimit.core import is_ratelimited
from redis.exceptions import RedisError

logger = logging.getLogger(__name__)

# What a cache backend raises when its store is unreachable: redis-py's errors (Redis
# cache), OSError (the first-run file cache: disk full, permissions).
CACHE_UNAVAILABLE = (RedisError, OSError)

_PERIODS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def rate_period_seconds(rate: str) -> int:
    """The window of a django-ratelimit rate such as "20/10m" (600)."""
    match = re.fullmatch(r"\d+/(\d*)([smhd])", rate)
    if not match:
        raise ValueError(f"not a rate: {rate!r}")
    return int(match[1] or 1) * _PERIODS[match[2]]


def client_ip(request: HttpRequest) -> str:
    """The client's address by allauth's rule (ALLAUTH_TRUSTED_PROXY_COUNT), so booking
    and login limits count the same client; django-ratelimit reads it through
    RATELIMIT_IP_META_KEY. Behind N proxies it is the N-th X-Forwarded-For entry from
    the right, which the client cannot forge."""
    return get_adapter(request).get_client_ip(request)


def submission_limited(request: HttpRequest, *, group: str, rate: str, key) -> bool:
    """Count one submission under `group`/`key` and say whether it is over `rate`.
    False (not limited) when the cache cannot be reached: a flood guard that is down must
    not turn guests away."""
    try:
        return is_ratelimited(request, group=group, key=key, rate=rate, increment=True)
    except CACHE_UNAVAILABLE as exc:
        logger.warning(
            "Rate limit %s not checked, the cache is unreachable (%s: %s); letting it through.",
            group,
            type(exc).__name__,
            exc,
        )
        return False


def page_submission_limited(request: HttpRequest) -> bool:
    """Per client IP, for the public booking form."""
    rate = settings.BOOKING_RATE_LIMIT_PER_IP
    return submission_limited(request, group="bookings.page", rate=rate, key="ip")


def api_submission_limited(request: HttpRequest, *, key_prefix: str) -> bool:
    """Per API key, for the booking API."""
    rate = settings.BOOKING_API_RATE_LIMIT_PER_KEY
    return submission_limited(
        request, group="bookings.api", rate=rate, key=lambda group, request: key_prefix
    )


def too_many_requests(message: str, *, rate: str, content_type: str = "text/plain") -> HttpResponse:
    response = HttpResponse(message, status=429, content_type=content_type)
    response["Retry-After"] = str(rate_period_seconds(rate))
    return response

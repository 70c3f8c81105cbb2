"""Rate limits count real clients: behind a trusted proxy by X-Forwarded-For, and without
one never by a header a client could forge."""

import pytest
from django.test import RequestFactory

from bookings.ratelimits import client_ip, page_submission_limited

pytestmark = pytest.mark.django_db


def request_from(remote, forwarded=None):
    headers = {"X-Forwarded-For": forwarded} if forwarded else {}
    return RequestFactory().post("/acme/intro/", REMOTE_ADDR=remote, headers=headers)


def test_without_a_proxy_forwarded_for_is_ignored(settings):
    settings.ALLAUTH_TRUSTED_PROXY_COUNT = 0
    assert client_ip(request_from("203.0.113.9", forwarded="198.51.100.1")) == "203.0.113.9"


def test_behind_one_proxy_the_client_is_the_last_forwarded_entry(settings):
    settings.ALLAUTH_TRUSTED_PROXY_COUNT = 1
    # A client-forged entry stands first; the proxy appends the real address last.
    request = request_from("10.0.0.2", forwarded="6.6.6.6, 198.51.100.7")
    assert client_ip(request) == "198.51.100.7"


def test_guests_behind_one_proxy_get_their_own_limits(settings):
    settings.ALLAUTH_TRUSTED_PROXY_COUNT = 1
    settings.BOOKING_RATE_LIMIT_PER_IP = "2/m"
    proxy = "10.0.0.2"
    first = [page_submission_limited(request_from(proxy, "198.51.100.7")) for _ in range(3)]
    other = page_submission_limited(request_from(proxy, "198.51.100.8"))
    assert first == [False, False, True]
    assert other is False

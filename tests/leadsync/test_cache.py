"""leadsync.cache.RedisCache against the real Redis: one client per pool, and `incr` in one
atomic round trip that never creates a key (nor drops its expiry)."""

import threading
import uuid

import pytest
import redis

from leadsync.cache import RedisCache


@pytest.fixture
def cache(redis_url):
    backend = RedisCache(redis_url, {"KEY_PREFIX": f"test-cache-{uuid.uuid4().hex}"})
    yield backend
    raw = redis.Redis.from_url(redis_url)
    keys = list(raw.scan_iter(match=f"{backend.key_prefix}:*"))
    if keys:
        raw.delete(*keys)


def _raw(cache, key):
    return cache._cache.get_client(write=True), cache.make_key(key)


def test_one_client_per_pool(cache):
    assert cache._cache.get_client("a") is cache._cache.get_client("b")


def test_incr_counts_an_existing_key_and_keeps_its_expiry(cache):
    cache.set("n", 5, timeout=300)
    assert cache.incr("n") == 6
    assert cache.incr("n", 10) == 16
    assert cache.get("n") == 16
    client, key = _raw(cache, "n")
    assert 290 < client.ttl(key) <= 300


def test_incr_of_a_missing_key_raises_and_creates_nothing(cache):
    with pytest.raises(ValueError, match="not found"):
        cache.incr("missing")
    client, key = _raw(cache, "missing")
    assert not client.exists(key)


def test_incr_is_one_round_trip(cache, monkeypatch):
    cache.set("n", 1, timeout=60)
    client, _ = _raw(cache, "n")
    cache.incr("n")  # loads the script
    sent, real = [], client.execute_command

    def execute(*args, **kwargs):
        sent.append(args[0])
        return real(*args, **kwargs)

    monkeypatch.setattr(client, "execute_command", execute)
    cache.incr("n")
    assert sent == ["EVALSHA"]


def test_incr_loads_its_script_again_after_a_flush(cache):
    cache.set("n", 1, timeout=60)
    cache.incr("n")
    client, _ = _raw(cache, "n")
    client.script_flush()  # a Redis restart forgets scripts
    assert cache.incr("n") == 3


def test_concurrent_incr_loses_no_count(cache):
    cache.set("n", 0, timeout=60)

    def count():
        for _ in range(200):
            cache.incr("n")

    threads = [threading.Thread(target=count) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert cache.get("n") == 800


def test_django_ratelimit_counts_through_it(cache, rf, settings, monkeypatch):
    """django-ratelimit's add-then-incr: the fourth request of a 3/m limit is limited."""
    from django_ratelimit.core import is_ratelimited

    monkeypatch.setattr("django_ratelimit.core.caches", {"default": cache})
    request = rf.post("/", REMOTE_ADDR="10.1.2.3")
    results = [
        is_ratelimited(request, group="t", key="ip", rate="3/m", increment=True) for _ in range(4)
    ]
    assert results == [False, False, False, True]

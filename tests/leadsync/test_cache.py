"""leadsync.cache.RedisCache against the real Redis: one client per pool, and `incr` in one
atomic round trip that never creates a key (nor drops its expiry)."""

import threading
import uuid

import pytest
import redis

from leadsync import cache as cache_module
from leadsync.cache import RedisCache
from tests.conftest import redis_keys_delete


@pytest.fixture
def cache(redis_url):
    backend = RedisCache(redis_url, {"KEY_PREFIX": f"test-cache-{uuid.uuid4().hex}"})
    yield backend
    redis_keys_delete(redis_url, f"{backend.key_prefix}:*")


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


# -- write / writes_batched ----------------------------------------------------------------


@pytest.fixture
def two_caches(settings, redis_url):
    """Aliases "a" and "b": two RedisCaches of one server (keys of their own), "mem": an
    in-process cache."""
    run = uuid.uuid4().hex
    redis_options = {"socket_connect_timeout": 1, "socket_timeout": 1}
    settings.CACHES = {
        **settings.CACHES,
        "a": {"BACKEND": "leadsync.cache.RedisCache", "LOCATION": redis_url,
              "KEY_PREFIX": f"test-batch-a-{run}", "OPTIONS": redis_options},
        "b": {"BACKEND": "leadsync.cache.RedisCache", "LOCATION": redis_url,
              "KEY_PREFIX": f"test-batch-b-{run}", "OPTIONS": redis_options},
        "mem": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": run},
    }  # fmt: skip
    yield
    redis_keys_delete(redis_url, f"test-batch-*-{run}:*")


@pytest.fixture
def round_trips(two_caches, redis_round_trips):
    """Round trips to Redis, the caches "a" and "b" connected first."""
    from django.core.cache import caches

    for alias in ("a", "b"):
        caches[alias].get("warm")
    redis_round_trips.clear()
    return redis_round_trips


def test_writes_in_a_block_wait_for_its_end_then_go_in_one_round_trip(two_caches, round_trips):
    from django.core.cache import caches

    answers = []
    with cache_module.writes_batched():
        cache_module.write("a", "set", "version", "v1", timeout=None, then=answers.append)
        cache_module.write("b", "add", "marker", 1, timeout=60, then=answers.append)
        cache_module.write("b", "add", "marker", 1, timeout=60, then=answers.append)
        cache_module.write("mem", "add", "marker", 1, timeout=60, then=answers.append)
        assert answers == [] and round_trips == []
    assert answers == [None, True, False, True]
    assert len(round_trips) == 1
    # As Django's own set and add would have written them: same values, same expiries.
    assert caches["a"].get("version") == "v1" and caches["b"].get("marker") == 1
    assert caches["mem"].get("marker") == 1
    client, key = _raw(caches["a"], "version")
    assert client.ttl(key) == -1  # timeout None: kept
    client, key = _raw(caches["b"], "marker")
    assert 50 < client.ttl(key) <= 60


def test_a_write_outside_a_block_is_made_at_once(two_caches):
    from django.core.cache import caches

    answers = []
    cache_module.write("b", "add", "marker", 1, timeout=60, then=answers.append)
    assert answers == [True] and caches["b"].get("marker") == 1
    cache_module.write("b", "add", "marker", 1, timeout=60, then=answers.append)
    assert answers == [True, False]


def test_a_block_inside_another_joins_it(two_caches, round_trips):
    answers = []
    with cache_module.writes_batched():
        cache_module.write("a", "set", "x", 1, then=answers.append)
        with cache_module.writes_batched():
            cache_module.write("b", "set", "y", 2, then=answers.append)
        assert answers == []
    assert answers == [None, None] and len(round_trips) == 1


def test_an_unreachable_server_is_each_writes_answer_not_a_raise(settings, two_caches):
    from tests.bookings.conftest import closed_port

    down = {**settings.CACHES["a"], "LOCATION": f"redis://127.0.0.1:{closed_port()}/0"}
    settings.CACHES = {**settings.CACHES, "down1": down, "down2": down}
    answers = []
    with cache_module.writes_batched():
        cache_module.write("down1", "set", "x", 1, then=answers.append)
        cache_module.write("down2", "add", "y", 1, timeout=5, then=answers.append)
        cache_module.write("b", "add", "z", 1, timeout=5, then=answers.append)  # another server
    assert [type(answer) for answer in answers] == [
        redis.exceptions.ConnectionError, redis.exceptions.ConnectionError, bool
    ]  # fmt: skip
    assert answers[2] is True


def test_a_then_that_raises_lets_the_others_run_and_is_raised_after_them(two_caches):
    answers = []

    def broken(answer):
        raise RuntimeError("then failed")

    with pytest.raises(RuntimeError, match="then failed"), cache_module.writes_batched():
        cache_module.write("a", "set", "x", 1, then=broken)
        cache_module.write("b", "add", "y", 1, timeout=5, then=answers.append)
    assert answers == [True]

"""Django's Redis cache, with one redis-py client per connection pool instead of a new one
per call.

Django's `RedisCacheClient.get_client` builds a `redis.Redis` for every cache call (its
constructor sets up retries, callbacks and a lock: about 0.1 ms). A booking makes half a
dozen cache calls (rate limit, page versions, push marker), so that was ~5 % of its CPU.
A `redis.Redis` on a connection pool is safe to share between threads; Django already keeps
one cache object, and so one set of pools, per thread.

And `incr` in one atomic round trip. Django's asks EXISTS, then INCRBY: two round trips
per rate-limit count (django-ratelimit counts with `add`, then `incr`), and a key that
expires between the two is created again by INCRBY without an expiry, a counter that then
never resets (a client limited for good). One Lua script does both on the server.

And `write`, for writes whose answer can wait: inside a `writes_batched()` block they go
to Redis together at its end, one round trip for all of them. A booking's transaction
commits with three such writes in its on-commit hooks (its page's new "slots" version, the
"a push is queued" and "a mail drain is queued" markers): one round trip instead of three.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, Literal

from django.core.cache import caches
from django.core.cache.backends import redis as django_redis
from django.core.cache.backends.base import DEFAULT_TIMEOUT

#: INCRBY only an existing key (keeping its expiry); nil for a missing one.
INCR_EXISTING = """
if redis.call('EXISTS', KEYS[1]) == 1 then
  return redis.call('INCRBY', KEYS[1], ARGV[1])
end
return false
"""


class RedisCacheClient(django_redis.RedisCacheClient):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._clients = {}
        self._incr_scripts = {}

    def get_client(self, key=None, *, write=False):
        pool = self._get_connection_pool(write)
        client = self._clients.get(id(pool))
        if client is None:
            client = self._clients[id(pool)] = self._client(connection_pool=pool)
        return client

    def incr(self, key, delta):
        client = self.get_client(key, write=True)
        script = self._incr_scripts.get(id(client))
        if script is None:  # EVALSHA, loading the script on the first NOSCRIPT
            script = self._incr_scripts[id(client)] = client.register_script(INCR_EXISTING)
        value = script(keys=[key], args=[delta])
        if value is None:
            raise ValueError(f"Key '{key}' not found.")
        return value

    def writes(self, commands: list[tuple[str, str, Any, int | None]]) -> list[bool | None]:
        """(op, key, value, timeout) commands, op "set" or "add", keys made and timeouts
        the backend's (never 0), as this class's `set` and `add` would send them, in one
        pipeline. Per command: `add` whether it added, `set` None."""
        pipe = self.get_client(write=True).pipeline(transaction=False)
        for op, key, value, timeout in commands:
            pipe.set(key, self._serializer.dumps(value), ex=timeout, nx=op == "add")
        replies = pipe.execute()
        ops = [op for op, *_ in commands]
        answers = zip(ops, replies, strict=True)
        return [bool(reply) if op == "add" else None for op, reply in answers]


class RedisCache(django_redis.RedisCache):
    def __init__(self, server, params):
        super().__init__(server, params)
        self._class = RedisCacheClient


# -- writes that can wait for the end of a block -----------------------------------------------

Then = Callable[[Any], None]


@dataclass(frozen=True)
class _Write:
    alias: str
    op: Literal["set", "add"]
    key: str
    value: Any
    timeout: Any
    then: Then


_batch = threading.local()


@contextlib.contextmanager
def writes_batched() -> Iterator[None]:
    """`write`s made inside this block (in this thread) wait for its end, then go to their
    caches together: one pipeline per Redis server. Meant around a transaction whose
    on-commit hooks write to the cache; hooks that run later (the block was inside an
    outer transaction) write at once. A block inside another joins it."""
    if getattr(_batch, "writes", None) is not None:
        yield
        return
    _batch.writes = []
    try:
        yield
    finally:
        writes, _batch.writes = _batch.writes, None
        _run(writes)


def write(
    alias: str,
    op: Literal["set", "add"],
    key: str,
    value: Any,
    *,
    then: Then,
    timeout: Any = DEFAULT_TIMEOUT,
) -> None:
    """`caches[alias].set(key, value, timeout)` or `.add(...)`: now, or at the end of the
    `writes_batched()` block it is made in. `then` gets the answer (`add`: whether it
    added; `set`: None) or, instead of a raise, the exception the cache raised."""
    pending = getattr(_batch, "writes", None)
    entry = _Write(alias=alias, op=op, key=key, value=value, timeout=timeout, then=then)
    if pending is None:
        _run([entry])
    else:
        pending.append(entry)


def _run(writes: list[_Write]) -> None:
    """Each write's answer to its `then`, in order; writes to one Redis server in one
    pipeline. A `then` that raises does not keep the others from running: the first such
    exception is raised after them."""
    answers: dict[int, Any] = {}
    groups: dict[tuple, list[int]] = {}
    for index, entry in enumerate(writes):
        backend = caches[entry.alias]
        if isinstance(backend, RedisCache) and backend.get_backend_timeout(entry.timeout) != 0:
            server = (tuple(backend._servers), repr(sorted(backend._options.items())))
            groups.setdefault(server, []).append(index)
    for indexes in groups.values():
        if len(indexes) < 2:
            continue
        commands = []
        for index in indexes:
            entry, backend = writes[index], caches[writes[index].alias]
            key = backend.make_and_validate_key(entry.key)
            timeout = backend.get_backend_timeout(entry.timeout)
            commands.append((entry.op, key, entry.value, timeout))
        try:
            replies = caches[writes[indexes[0]].alias]._cache.writes(commands)
        except Exception as exc:  # the connection's failure is each write's answer
            replies = [exc] * len(indexes)
        answers.update(zip(indexes, replies, strict=True))
    raised = None
    for index, entry in enumerate(writes):
        if index in answers:
            answer = answers[index]
        else:
            try:
                answer = getattr(caches[entry.alias], entry.op)(
                    entry.key, entry.value, timeout=entry.timeout
                )
            except Exception as exc:
                answer = exc
        try:
            entry.then(answer)
        except Exception as exc:
            raised = raised or exc
    if raised is not None:
        raise raised

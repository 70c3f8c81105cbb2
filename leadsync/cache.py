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
"""

from __future__ import annotations

from django.core.cache.backends import redis as django_redis

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


class RedisCache(django_redis.RedisCache):
    def __init__(self, server, params):
        super().__init__(server, params)
        self._class = RedisCacheClient

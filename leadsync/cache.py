"""Django's Redis cache, with one redis-py client per connection pool instead of a new one
per call.

Django's `RedisCacheClient.get_client` builds a `redis.Redis` for every cache call (its
constructor sets up retries, callbacks and a lock: about 0.1 ms). A booking makes half a
dozen cache calls (rate limit, page versions, push marker), so that was ~5 % of its CPU.
A `redis.Redis` on a connection pool is safe to share between threads; Django already keeps
one cache object, and so one set of pools, per thread.
"""

from __future__ import annotations

from django.core.cache.backends import redis as django_redis


class RedisCacheClient(django_redis.RedisCacheClient):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._clients = {}

    def get_client(self, key=None, *, write=False):
        pool = self._get_connection_pool(write)
        client = self._clients.get(id(pool))
        if client is None:
            client = self._clients[id(pool)] = self._client(connection_pool=pool)
        return client


class RedisCache(django_redis.RedisCache):
    def __init__(self, server, params):
        super().__init__(server, params)
        self._class = RedisCacheClient

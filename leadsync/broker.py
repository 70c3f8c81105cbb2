"""Kombu's Redis transport, fixed so a worker survives losing Redis mid-task.

With acks_late a worker holds unacknowledged messages. When Redis goes away, the consumer
closes its connection, and closing a channel re-queues those messages through a client
built from the connection's parameters. kombu has by then detached the transport from its
connection (`transport.client` is None), so building that client raises AttributeError
("'NoneType' object has no attribute 'hostname'"), which kombu does not count as a
connection error: the worker logs "Unrecoverable error" and exits (measured with Redis
killed for 15 s: it happened with and without gossip/mingle/heartbeat, whenever a message
was unacknowledged). Raising a connection error instead lets the close finish and the
consumer reconnect. Nothing is lost: the messages stay in Redis's unacked index and
are restored after the visibility timeout, and the sweeper re-enqueues due deliveries
every DELIVERY_SWEEP_SECONDS anyway.

Selected by CELERY_BROKER_TRANSPORT in settings when the broker is Redis.
"""

from kombu.transport import redis as kombu_redis
from redis import exceptions as redis_exceptions


class Channel(kombu_redis.Channel):
    def _connparams(self, asynchronous: bool = False) -> dict:
        if self.connection.client is None:  # detached from its (closed) connection
            raise redis_exceptions.ConnectionError("the broker connection is closed")
        return super()._connparams(asynchronous=asynchronous)


class Transport(kombu_redis.Transport):
    Channel = Channel

"""Windowed records to Redis, the way every lane delivers them: each record published on
a channel (compact JSON) and kept as the newest of its symbol and window in a hash
(`<prefix><symbol>`, field = the window label), for a page that has just opened.

Newest means the greatest (window_start, count): a record replayed after a restart, or a
provisional value rebuilt from fewer ticks so far, never moves the stored one back.
"""
from __future__ import annotations

from typing import Callable

from services.core import clients
from services.core.analytics import Analytics
from services.core.service import Service, serve

# Replace the stored record only when the incoming (window_start, count) is not older
SET_LATEST = """
local current = redis.call('HGET', KEYS[1], ARGV[1])
if current then
  local stored = cjson.decode(current)
  local start, count = tonumber(ARGV[3]), tonumber(ARGV[4])
  if stored.window_start > start or (stored.window_start == start and stored.count > count) then
    return 0
  end
end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
return 1
"""


class RedisSink:
    def __init__(self, redis, channel: str, key_prefix: str):
        self.redis = redis
        self.channel = channel
        self.key_prefix = key_prefix
        self.set_latest = redis.register_script(SET_LATEST)

    def send(self, records: list[Analytics]) -> None:
        """One round trip for all; raises on a connection failure (the caller retries)."""
        if not records:
            return
        pipe = self.redis.pipeline(transaction=False)
        for record in records:
            pipe.publish(self.channel, record.json)
            self.set_latest(keys=[self.key_prefix + record.symbol],
                            args=[record.window, record.json, record.window_start, record.count], client=pipe)
        pipe.execute()


def serve_to_redis(name: str, default_port: int, channel: str, key_prefix: str,
                   body: Callable[[Service, object, RedisSink], int]) -> int:
    """The main of a service that reads Kafka and writes Redis (serve()): once Redis
    answers, body(service, settings, sink) with a RedisSink on `channel` and `key_prefix`."""
    def run(service: Service, settings) -> int:
        redis = clients.redis_client(settings)
        if not service.reach("Redis", redis.ping):
            return 0
        code = body(service, settings, RedisSink(redis, channel, key_prefix))
        redis.close()
        return code
    return serve(name, default_port, ("redis_password", "kafka_user", "kafka_password"), run)

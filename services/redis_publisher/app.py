"""The Redis publisher's process (see the package's docstring)."""
from __future__ import annotations

from services.core import analytics, clients
from shared import names
from services.core.consume import ConsumeLoop, dead_letter
from services.core.latest import RedisSink
from services.core.service import Service, serve
from services.core.tick import Rejected

DEFAULT_PORT = 8012

class Publisher:
    def __init__(self, service: Service, redis):
        self.service = service
        self.sink = RedisSink(redis, names.ANALYTICS_CHANNEL, names.LATEST_KEY_PREFIX)

    def __call__(self, records) -> list:
        dead, good = [], []
        for message in records:
            try:
                good.append(analytics.validate(message.value()))
            except Rejected as rejected:
                dead.append(dead_letter(message, rejected.reason, rejected.detail))
        if good:
            self.sink.send(good)  # raises on a connection failure: the batch is retried, nothing committed
            self.service.count("published", len(good))
        return dead


def main() -> int:
    return serve("redis-publisher", DEFAULT_PORT, ("redis_password", "kafka_password"), run)


def run(service: Service, settings) -> int:
    redis = clients.redis_client(settings)
    if not service.reach("Redis", redis.ping):
        return 0
    code = ConsumeLoop(service, settings.publisher_group, names.ANALYTICS_TOPIC, settings.publisher_batch,
                       Publisher(service, redis)).run()
    redis.close()
    return code

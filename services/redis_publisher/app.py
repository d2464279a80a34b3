"""The Redis publisher's process (see the package's docstring)."""
from __future__ import annotations

from services.core import analytics, clients
from shared import names
from services.core.consume import ConsumeLoop, dead_letter
from services.core.latest import RedisSink
from services.core.service import Service, load_settings
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
    settings = load_settings("redis-publisher", "redis_password", "kafka_password")
    if settings is None:
        return 2
    service = Service("redis-publisher", settings, DEFAULT_PORT)
    service.start()
    redis = clients.redis_client(settings)
    while True:  # Redis not up yet: wait, do not die
        try:
            redis.ping()
            break
        except Exception as error:
            service.healthy(f"cannot reach Redis: {error}")
            service.log.warning("redis_unreachable", extra={"error": str(error)})
            if service.wait(5):
                return service.finish(0)
    code = ConsumeLoop(service, settings.publisher_group, names.ANALYTICS_TOPIC, settings.publisher_batch,
                       Publisher(service, redis)).run()
    redis.close()
    return service.finish(code)

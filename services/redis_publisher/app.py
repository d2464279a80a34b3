"""The Redis publisher's process (see the package's docstring)."""
from __future__ import annotations

from services.core import analytics
from shared import names
from services.core.consume import ConsumeLoop, dead_letter
from services.core.latest import RedisSink, serve_to_redis
from services.core.service import Service
from services.core.tick import Rejected

DEFAULT_PORT = 8012

class Publisher:
    def __init__(self, service: Service, sink: RedisSink):
        self.service = service
        self.sink = sink

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
    return serve_to_redis("redis-publisher", DEFAULT_PORT, names.ANALYTICS_CHANNEL, names.LATEST_KEY_PREFIX, run)


def run(service: Service, settings, sink: RedisSink) -> int:
    return ConsumeLoop(service, settings.publisher_group, names.ANALYTICS_TOPIC, settings.publisher_batch,
                       Publisher(service, sink)).run()

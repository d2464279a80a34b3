"""The Redis publisher's process (see the package's docstring)."""
from __future__ import annotations

from services.core import analytics, clients, names
from services.core.consume import ConsumeLoop, dead_letter
from services.core.service import Service, load_settings
from services.core.tick import Rejected

DEFAULT_PORT = 8012

# Keep the newest record per (symbol, window): replace the stored one only when the
# incoming (window_start, count) is not older, so a replay never moves it back.
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


class Publisher:
    def __init__(self, service: Service, redis):
        self.service = service
        self.redis = redis
        self.set_latest = redis.register_script(SET_LATEST)

    def __call__(self, records) -> list:
        dead, good = [], []
        for message in records:
            try:
                good.append(analytics.validate(message.value()))
            except Rejected as rejected:
                dead.append(dead_letter(message, rejected.reason, rejected.detail))
        if good:
            pipe = self.redis.pipeline(transaction=False)
            for record in good:
                pipe.publish(names.ANALYTICS_CHANNEL, record.json)
                self.set_latest(keys=[names.LATEST_KEY_PREFIX + record.symbol],
                                args=[record.window, record.json, record.window_start, record.count],
                                client=pipe)
            pipe.execute()  # raises on a connection failure: the batch is retried, nothing committed
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

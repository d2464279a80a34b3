"""The live lane's process (see the package's docstring)."""
from __future__ import annotations

import time

from services.core import clients
from shared import names
from services.core.consume import kafka_error, record_time
from services.core.latest import RedisSink, serve_to_redis
from services.core.service import Service
from services.core.tick import Rejected, Rules, validate
from services.live_lane.windows import OpenWindows

DEFAULT_PORT = 8014
REBUILD_MARGIN_MS = 5_000  # read this much more of the log than the windows need, on assignment


class LiveLane:
    """stock-ticks -> open windows -> every interval, the changed ones to Redis.

    The windows live in memory only; they are rebuilt from the log whenever partitions
    are assigned (start, restart, rebalance): each partition is read again from the
    offset of (now - the longest window - the watermark), so a crash (kill -9) loses
    nothing: the restarted lane publishes the same values once it has read the log up
    to where it was. Offsets are not used to resume, only committed (automatically,
    every 5 s) so that the group's lag can be watched with Kafka's own tools."""

    def __init__(self, service: Service, settings, sink: RedisSink):
        self.service = service
        self.settings = settings
        self.sink = sink
        self.rules = Rules.from_settings(settings)
        self.windows = OpenWindows(tuple(settings.lane_windows), int(settings.lane_watermark_s * 1000))
        self.interval = settings.lane_interval_ms / 1000
        self.rebuild_ms = max(length for _, length in self.windows.lengths) + self.windows.watermark_ms + REBUILD_MARGIN_MS
        self.not_before: dict[int, int] = {}     # partition -> windows starting before are not kept
        self.symbols: dict[int, set] = {}        # partition -> symbols seen in it
        self.ends: dict[int, int] = {}           # partition -> end offset (cached) at the last look
        self.positions: dict[int, int] = {}      # partition -> next offset to read
        self.last_publish = 0.0
        self.backoff = 0.0
        service.details = self.details

    def details(self) -> dict:
        lag = sum(max(0, self.ends.get(p, 0) - self.positions.get(p, 0)) for p in self.not_before
                  if p in self.ends and p in self.positions)
        return {"group": self.settings.lane_group, "topic": names.TICKS_TOPIC,
                "assigned_partitions": sorted(self.not_before), "lag": lag,
                "open_windows": len(self.windows.candles), "newest_trade_time": self.windows.newest or None,
                "interval_ms": self.settings.lane_interval_ms}

    # --- assignment: rebuild from the log ------------------------------------------------
    def on_assign(self, consumer, partitions) -> None:
        from confluent_kafka import TopicPartition
        since = int(time.time() * 1000) - self.rebuild_ms
        found = consumer.offsets_for_times([TopicPartition(p.topic, p.partition, since) for p in partitions],
                                           timeout=10)
        for p, at in zip(partitions, found):
            p.offset = at.offset  # -1 (the end) when nothing was written since
            self.not_before[p.partition] = since
            self.symbols.setdefault(p.partition, set())
        consumer.assign(partitions)
        self.service.healthy()
        self.service.log.info("partitions_assigned", extra={
            "partitions": sorted(p.partition for p in partitions), "rebuild_from": since,
            "offsets": {p.partition: p.offset for p in partitions}})

    def on_revoke(self, consumer, partitions) -> None:
        gone = {p.partition for p in partitions}
        for partition in gone:
            self.windows.forget(self.symbols.pop(partition, set()))
            self.not_before.pop(partition, None)
            self.ends.pop(partition, None)
            self.positions.pop(partition, None)
        self.service.log.info("partitions_revoked", extra={"partitions": sorted(gone)})

    def on_error(self, error) -> None:
        kafka_error(self.service, error)

    # --- the loop -------------------------------------------------------------------------
    def apply(self, messages) -> None:
        windows, rules = self.windows, self.rules
        for message in messages:
            if message.error():
                self.on_error(message.error())
                continue
            partition = message.partition()
            try:
                tick = validate(message.value(), rules, record_time(message), message.key())
            except Rejected as rejected:  # the storage writer dead-letters it; here it is counted
                self.service.count_rejected(rejected.reason)
                continue
            self.symbols.setdefault(partition, set()).add(tick.symbol)
            windows.add(tick.symbol, tick.price, tick.volume, tick.trade_time, message.offset(),
                        self.not_before.get(partition, 0))
            self.positions[partition] = message.offset() + 1
        self.service.count("records", len(messages))

    def publish(self) -> None:
        """The changed windows, once each; on a Redis failure they stay changed and the
        next attempt (after a growing pause) sends their newest values."""
        now = time.monotonic()
        if not self.windows.changed or now < self.last_publish + max(self.interval, self.backoff):
            return
        expired = self.windows.expire()  # first: a window past the watermark is not sent again
        records = self.windows.take_changed()
        try:
            self.sink.send(records)
        except Exception as error:
            self.windows.changed.update((r.symbol, r.window, r.window_start) for r in records)
            self.backoff = min(max(self.backoff * 2, 0.5), 10.0)
            self.service.count("publish_failures")
            self.service.healthy(f"redis: {error}")
            self.service.log.warning("publish_failed", extra={"error": repr(error), "retry_in_s": self.backoff})
        else:
            if self.backoff:
                self.backoff = 0.0
                self.service.healthy()
            self.service.count("published", len(records))
        self.last_publish = now
        late = self.windows.late
        if late:
            self.service.count("late", late)
            self.windows.late = 0
        if expired:
            self.service.count("windows_closed", expired)

    def wait_s(self) -> float:
        """How long to wait for the next record: until the next publish is due when
        something changed (so a lone tick is not held back), else a moment."""
        if self.windows.changed:
            return max(0.0, self.last_publish + max(self.interval, self.backoff) - time.monotonic())
        return 0.5

    def measure_lag(self, consumer) -> None:
        from confluent_kafka import KafkaException, TopicPartition
        for partition in list(self.not_before):
            try:
                _, end = consumer.get_watermark_offsets(TopicPartition(names.TICKS_TOPIC, partition), cached=True)
            except KafkaException:
                continue
            if end >= 0:
                self.ends[partition] = end

    def run(self, batch: int = 10_000) -> int:
        service = self.service
        consumer = clients.kafka_consumer(
            self.settings, self.settings.lane_group, error_cb=self.on_error,
            **{"fetch.wait.max.ms": self.settings.lane_fetch_wait_ms,
               # offsets only for watching the lag: a restart rebuilds from the log by time
               "enable.auto.commit": True, "enable.auto.offset.store": True, "auto.offset.reset": "latest"})
        consumer.subscribe([names.TICKS_TOPIC], on_assign=self.on_assign, on_revoke=self.on_revoke,
                           on_lost=self.on_revoke)
        service.healthy()
        try:
            while not service.stopping.is_set():
                messages = consumer.consume(1, timeout=self.wait_s())
                if messages:
                    messages += consumer.consume(batch - 1, timeout=0)
                    self.apply(messages)
                self.publish()
                self.measure_lag(consumer)
            self.publish_all()
        finally:
            consumer.close()
        return 0

    def publish_all(self) -> None:
        """On stop: what changed since the last publish."""
        self.last_publish = self.backoff = 0.0
        self.publish()


def main() -> int:
    return serve_to_redis("live-lane", DEFAULT_PORT, names.LIVE_CHANNEL, names.LIVE_KEY_PREFIX,
                          lambda service, settings, sink: LiveLane(service, settings, sink).run())

"""The consume loop the storage writer and the Redis publisher share:

    consume a batch -> handler makes the good records durable and names the bad ones
    -> the bad ones go to the dead-letter topic (acknowledged by every in-sync replica)
    -> only then the batch's offsets are committed.

When the handler or the dead-letter topic fails, nothing is committed: the
partitions are rewound to the batch's first offsets and the batch is tried again
after a growing pause (the service reports itself degraded meanwhile). A crash at
any point therefore loses nothing; what was written before the crash is written
again, which the sinks make harmless (Cassandra upserts, a guarded Redis update).

SIGTERM lets the batch in hand finish and commit, then leaves the group and exits 0.
"""
from __future__ import annotations

import time
from typing import Callable

from services.core import clients
from shared import names
from services.core.deadletter import DeadLetter, envelope, headers
from services.core.service import Service

# handler(records) -> dead letters; raises when the good records could not be made durable
Handler = Callable[[list], list[DeadLetter]]


class BatchFailed(RuntimeError):
    pass


def record_time(message) -> int:
    """The record's timestamp (ms), or now when it has none."""
    kind, value = message.timestamp()
    return value if kind != 0 and value > 0 else int(time.time() * 1000)  # 0: TIMESTAMP_NOT_AVAILABLE


def dead_letter(message, reason: str, detail: str) -> DeadLetter:
    return DeadLetter(reason, detail, message.topic(), message.partition(), message.offset(),
                      record_time(message), message.key(), message.value())


def kafka_error(service: Service, error) -> None:
    """A Kafka client's error callback: logged and counted; the service is degraded
    while no broker can be reached or the login fails."""
    from confluent_kafka import KafkaError
    service.log.warning("kafka_error", extra={"error": str(error)})
    service.count("kafka_errors")
    if error.code() in (KafkaError._ALL_BROKERS_DOWN, KafkaError._AUTHENTICATION, KafkaError._TRANSPORT):
        service.healthy(f"kafka: {error.str()}")


class LagWatch:
    """Whether a consumer has fallen behind for good: its lag above `limit` records for
    `grace_s` seconds or more (a burst it works off within the grace is no problem); a lag
    back within the limit clears it."""

    def __init__(self, limit: int, grace_s: float):
        self.limit, self.grace_s = limit, grace_s
        self.since: float | None = None  # when the lag went over the limit

    def problem(self, lag: int, now: float) -> str | None:
        if lag <= self.limit:
            self.since = None
            return None
        self.since = now if self.since is None else self.since
        behind = now - self.since
        if behind < self.grace_s:
            return None
        return f"{lag} records behind for {behind:.0f} s (over {self.limit} for {self.grace_s:.0f} s or more)"


class ConsumeLoop:
    def __init__(self, service: Service, group: str, topic: str, batch_size: int, handler: Handler,
                 max_backoff: float = 10.0):
        self.service = service
        self.settings = service.settings
        self.group = group
        self.topic = topic
        self.batch_size = batch_size
        self.handler = handler
        self.max_backoff = max_backoff
        self.assigned: list[int] = []
        self.committed: dict[int, int] = {}
        self.last_commit: float | None = None
        self.lag: dict[int, int] = {}  # partition -> records behind the end the broker last reported
        self.lag_watch = LagWatch(self.settings.lag_limit, self.settings.lag_grace_s)
        self.lag_problem: str | None = None  # what LagWatch says, while it says it
        service.details = lambda: {"group": group, "topic": topic, "assigned_partitions": list(self.assigned),
                                   "committed_offsets": dict(self.committed),
                                   "lag": self.total_lag()}
        service.lag = lambda: {(topic, p): self.lag.get(p, 0) for p in self.assigned}

    def _on_assign(self, consumer, partitions) -> None:
        self.assigned = sorted(p.partition for p in partitions)
        self.service.healthy()
        self.service.log.info("partitions_assigned", extra={"partitions": self.assigned})

    def _on_revoke(self, consumer, partitions) -> None:
        gone = {p.partition for p in partitions}
        self.assigned = [p for p in self.assigned if p not in gone]
        self.service.log.info("partitions_revoked", extra={"partitions": sorted(gone)})

    def _on_error(self, error) -> None:
        kafka_error(self.service, error)

    def run(self) -> int:
        service = self.service
        consumer = clients.kafka_consumer(self.settings, self.group, error_cb=self._on_error)
        dlq = clients.kafka_producer(self.settings, **{"linger.ms": 0, "error_cb": self._on_error})
        consumer.subscribe([self.topic], on_assign=self._on_assign, on_revoke=self._on_revoke)
        service.healthy()
        backoff = 0.5
        try:
            while not service.stopping.is_set():
                messages = self._next_batch(consumer)
                self._measure_lag(consumer)
                records = []
                for message in messages:
                    if message.error():
                        self._on_error(message.error())
                    else:
                        records.append(message)
                if not records:
                    continue
                try:
                    dead = self.handler(records)
                    self._send_dead_letters(dlq, dead)
                    self._commit(consumer, records)
                except Exception as error:
                    service.count("batch_failures")
                    service.healthy(f"batch failed, retrying: {error}")
                    service.log.warning("batch_failed", extra={"error": repr(error), "records": len(records),
                                                               "retry_in_s": backoff})
                    self._rewind(consumer, records)
                    if service.wait(backoff):
                        service.log.info("stopping_with_uncommitted_batch",
                                         extra={"records": len(records), "note": "redelivered on restart"})
                    backoff = min(backoff * 2, self.max_backoff)
                    continue
                backoff = 0.5
                service.healthy(self.lag_problem)
        finally:
            consumer.close()  # leaves the group: its partitions move at once
            dlq.flush(10)
        return 0

    def _send_dead_letters(self, dlq, dead: list[DeadLetter]) -> None:
        if not dead:
            return
        failures = []

        def delivered(error, message):
            if error is not None:
                failures.append(error)

        for letter in dead:
            dlq.produce(names.DEAD_LETTER_TOPIC, value=envelope(letter, self.service.name), key=letter.key,
                        headers=headers(letter, self.service.name), on_delivery=delivered)
            self.service.log.info("dead_lettered", extra={"reason": letter.reason, "detail": letter.detail,
                                                          "partition": letter.partition, "offset": letter.offset})
        remaining = dlq.flush(30)
        if remaining or failures:
            raise BatchFailed(f"dead-letter topic: {remaining} not delivered, {len(failures)} failed "
                              f"({failures[:1]})")
        for letter in dead:
            self.service.count("dead_lettered")
            self.service.count_rejected(letter.reason)

    def _commit(self, consumer, records) -> None:
        from confluent_kafka import TopicPartition
        ends: dict[tuple[str, int], int] = {}
        for message in records:
            key = (message.topic(), message.partition())
            ends[key] = max(ends.get(key, -1), message.offset() + 1)
        consumer.commit(offsets=[TopicPartition(t, p, o) for (t, p), o in ends.items()], asynchronous=False)
        for (_, partition), offset in ends.items():
            self.committed[partition] = offset
        self.last_commit = time.time()
        self.service.count("records", len(records))
        self.service.count("commits")

    def _next_batch(self, consumer) -> list:
        """What has arrived, up to a batch, at once: the first record is waited for (0.5 s at
        most, so that a stop is seen), the rest taken without waiting. consume(n, timeout)
        alone waits until n records are there or none came for the timeout: at a modest
        rate every hop would add up to that timeout."""
        first = consumer.consume(1, timeout=0.5)
        if not first or self.batch_size == 1:
            return first
        return first + consumer.consume(self.batch_size - 1, timeout=0)

    def _measure_lag(self, consumer) -> None:
        """Each assigned partition's lag: the end offset its last fetch saw (librdkafka's
        cached value, no request) less the committed offset; the service is degraded while
        LagWatch says it has fallen behind."""
        from confluent_kafka import KafkaException, TopicPartition
        for partition in self.assigned:
            committed = self.committed.get(partition)
            try:
                _, end = consumer.get_watermark_offsets(TopicPartition(self.topic, partition), cached=True)
            except KafkaException:  # nothing fetched from it yet
                continue
            if committed is not None and end >= 0:
                self.lag[partition] = max(0, end - committed)
        problem = self.lag_watch.problem(self.total_lag(), time.monotonic())
        if problem:
            self.service.healthy(problem)
        elif self.lag_problem:  # caught up: what else made it degraded clears with the next good batch
            self.service.healthy()
        self.lag_problem = problem

    def total_lag(self) -> int:
        """Records behind, over the partitions assigned now."""
        return sum(self.lag.get(p, 0) for p in self.assigned)

    def _rewind(self, consumer, records) -> None:
        from confluent_kafka import TopicPartition
        starts: dict[tuple[str, int], int] = {}
        for message in records:
            key = (message.topic(), message.partition())
            starts[key] = min(starts.get(key, message.offset()), message.offset())
        for (topic, partition), offset in starts.items():
            try:
                consumer.seek(TopicPartition(topic, partition, offset))
            except Exception as error:  # revoked meanwhile: its new owner starts at the committed offset
                self.service.log.info("rewind_skipped", extra={"partition": partition, "error": str(error)})

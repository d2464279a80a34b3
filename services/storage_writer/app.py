"""The storage writer's process (see the package's docstring)."""
from __future__ import annotations

from collections import OrderedDict

from services.core import clients, names
from services.core.consume import BatchFailed, ConsumeLoop, dead_letter, record_time
from services.core.service import Service, load_settings
from services.core.tick import Rejected, Rules, validate

DEFAULT_PORT = 8011
INSERT = (f"INSERT INTO {names.KEYSPACE}.{names.TICKS_TABLE} "
          "(symbol, day, trade_time, tick_id, price, currency, volume, source) VALUES (?, ?, ?, ?, ?, ?, ?, ?)")


class RecentIds:
    """The last `size` tick ids and where in the log each was seen. The same id at
    the same (topic, partition, offset) is a redelivery (after a rebalance or a
    retried batch), not a duplicate."""

    def __init__(self, size: int):
        self.size = size
        self._ids: OrderedDict[str, tuple] = OrderedDict()

    def seen_elsewhere(self, tick_id: str, position: tuple) -> tuple | None:
        where = self._ids.get(tick_id)
        return where if where is not None and where != position else None

    def remember(self, tick_id: str, position: tuple) -> None:
        if self.size <= 0:
            return
        self._ids[tick_id] = position
        self._ids.move_to_end(tick_id)
        while len(self._ids) > self.size:
            self._ids.popitem(last=False)

    def __len__(self) -> int:
        return len(self._ids)


class Writer:
    """Validates a batch and upserts its good ticks; returns the dead letters."""

    def __init__(self, service: Service, session, rules: Rules, concurrency: int, recent: RecentIds):
        self.service = service
        self.session = session
        self.rules = rules
        self.concurrency = concurrency
        self.recent = recent
        self.insert = session.prepare(INSERT)
        self.insert.is_idempotent = True  # the driver may retry it on a timeout

    def sort(self, records) -> tuple[list, list]:
        """(ticks to write as (tick, position), dead letters)."""
        good, dead, in_batch = [], [], {}
        for message in records:
            position = (message.topic(), message.partition(), message.offset())
            try:
                tick = validate(message.value(), self.rules, record_time(message), key=message.key())
                first = in_batch.get(tick.id) or self.recent.seen_elsewhere(tick.id, position)
                if first is not None and first != position:
                    raise Rejected("duplicate", f"id {tick.id} was first seen at {first[0]}/{first[1]}@{first[2]}")
            except Rejected as rejected:
                dead.append(dead_letter(message, rejected.reason, rejected.detail))
                continue
            in_batch[tick.id] = position
            good.append((tick, position))
        return good, dead

    def __call__(self, records) -> list:
        from cassandra import InvalidRequest
        from cassandra.concurrent import execute_concurrent_with_args

        good, dead = self.sort(records)
        if good:
            rows = [(t.symbol, t.day, t.trade_time, t.id, t.price, t.currency, t.volume, t.source) for t, _ in good]
            results = execute_concurrent_with_args(self.session, self.insert, rows,
                                                   concurrency=self.concurrency, raise_on_first_error=False)
            failed = [(index, result) for index, (ok, result) in enumerate(results) if not ok]
            # a timeout or an unavailable node is worth a retry; an invalid request is not
            transient = [result for _, result in failed if not isinstance(result, InvalidRequest)]
            if transient:
                raise BatchFailed(f"{len(failed)} of {len(rows)} inserts failed, e.g. {transient[0]!r}")
            refused = {index: result for index, result in failed}
            for index, (tick, position) in enumerate(good):
                if index in refused:
                    message = next(m for m in records if (m.topic(), m.partition(), m.offset()) == position)
                    dead.append(dead_letter(message, "rejected_by_store", str(refused[index])[:300]))
                else:
                    self.recent.remember(tick.id, position)
            self.service.count("stored", len(good) - len(refused))
        return dead


def main() -> int:
    settings = load_settings("storage-writer", "cassandra_password", "kafka_password")
    if settings is None:
        return 2
    service = Service("storage-writer", settings, DEFAULT_PORT)
    service.start()
    session = None
    try:
        while session is None:
            try:
                session = clients.cassandra_session(settings)
            except Exception as error:  # Cassandra not up yet: wait, do not die
                service.healthy(f"cannot reach Cassandra: {error}")
                service.log.warning("cassandra_unreachable", extra={"error": str(error)})
                if service.wait(5):
                    return service.finish(0)
        writer = Writer(service, session, Rules.from_settings(settings), settings.writer_concurrency,
                        RecentIds(settings.writer_dedup_cache))
        loop = ConsumeLoop(service, settings.writer_group, names.TICKS_TOPIC, settings.writer_batch, writer)
        code = loop.run()
    finally:
        if session is not None:
            session.cluster.shutdown()
    return service.finish(code)

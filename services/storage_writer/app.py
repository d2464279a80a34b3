"""The storage writer's process (see the package's docstring)."""
from __future__ import annotations

from collections import OrderedDict

from services.core import clients
from shared import names
from services.core.consume import BatchFailed, ConsumeLoop, dead_letter, record_time
from services.core.service import Service, serve
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

    def __init__(self, service: Service, session, rules: Rules, concurrency: int, rows_per_batch: int,
                 recent: RecentIds):
        self.service = service
        self.session = session
        self.rules = rules
        self.concurrency = concurrency
        self.rows_per_batch = rows_per_batch
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
        good, dead = self.sort(records)
        refused = self._write([(self._batch(members), members) for members in self._by_partition(good)])
        # a batch Cassandra refused: its rows one at a time, so only the bad row is dead-lettered
        refused = self._write([(self.insert.bind(self._row(tick)), [(tick, position)])
                               for members, _ in refused for tick, position in members])
        bad = {position: error for members, error in refused for _, position in members}
        by_position = {(m.topic(), m.partition(), m.offset()): m for m in records}
        for tick, position in good:
            if position in bad:
                dead.append(dead_letter(by_position[position], "rejected_by_store", str(bad[position])[:300]))
            else:
                self.recent.remember(tick.id, position)
        self.service.count("stored", len(good) - len(bad))
        return dead

    @staticmethod
    def _row(tick) -> tuple:
        return tick.symbol, tick.day, tick.trade_time, tick.id, tick.price, tick.currency, tick.volume, tick.source

    def _by_partition(self, good: list) -> list[list]:
        """The good ticks by Cassandra partition (symbol, day), in chunks of at most `rows_per_batch`."""
        partitions: dict[tuple, list] = {}
        for tick, position in good:
            partitions.setdefault((tick.symbol, tick.day), []).append((tick, position))
        return [members[first:first + self.rows_per_batch]
                for members in partitions.values() for first in range(0, len(members), self.rows_per_batch)]

    def _batch(self, members: list):
        """One partition's rows as one unlogged batch: a single mutation on the replicas, so
        it is atomic and needs no batch log, and the client pays one request for many rows."""
        from cassandra.query import BatchStatement, BatchType
        batch = BatchStatement(BatchType.UNLOGGED)
        batch.is_idempotent = True
        for tick, _ in members:
            batch.add(self.insert, self._row(tick))
        return batch

    def _write(self, statements: list[tuple]) -> list[tuple]:
        """Executes (statement, members) pairs, `concurrency` in flight; returns the pairs
        Cassandra refused, with the error. A timeout or an unavailable node is worth a retry
        of the whole batch (the upserts are idempotent): it raises BatchFailed."""
        from cassandra import InvalidRequest
        from cassandra.concurrent import execute_concurrent
        results = execute_concurrent(self.session, [(statement, None) for statement, _ in statements],
                                     concurrency=self.concurrency, raise_on_first_error=False)
        refused, transient = [], []
        for (_, members), (ok, result) in zip(statements, results):
            if not ok:
                (refused if isinstance(result, InvalidRequest) else transient).append((members, result))
        if transient:
            raise BatchFailed(f"{len(transient)} of {len(statements)} writes failed, e.g. {transient[0][1]!r}")
        return refused


def main() -> int:
    return serve("storage-writer", DEFAULT_PORT, ("cassandra_user", "cassandra_password", "kafka_user", "kafka_password"),
                 run)


def run(service: Service, settings) -> int:
    session = service.reach("Cassandra", lambda: clients.cassandra_session(settings))
    if session is None:
        return 0
    try:
        writer = Writer(service, session, Rules.from_settings(settings), settings.writer_concurrency,
                        settings.writer_rows_per_batch, RecentIds(settings.writer_dedup_cache))
        return ConsumeLoop(service, settings.writer_group, names.TICKS_TOPIC, settings.writer_batch, writer).run()
    finally:
        session.cluster.shutdown()

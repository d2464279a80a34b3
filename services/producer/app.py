"""The producer's process (see the package's docstring)."""
from __future__ import annotations

import threading
import time
import uuid

from services.core import clients
from shared import names
from services.core.service import Service, bad_settings, load_settings
from services.producer.sources import Source, SourceUnavailable, UnknownSymbol, make_source

DEFAULT_PORT = 8010
EXIT_SOURCE_UNAVAILABLE = 3


class Producer:
    def __init__(self, service: Service, source: Source, run_id: str, topic: str = names.TICKS_TOPIC):
        self.service = service
        self.topic = topic  # bench/producer.py sends to a throwaway topic
        self.settings = service.settings
        self.source = source
        self.run_id = run_id
        self.sent = 0
        self.acked = 0
        self.failed = 0
        self.fatal: str | None = None
        self._count_lock = threading.Lock()
        self.kafka = clients.kafka_producer(self.settings, on_delivery=self._delivered, error_cb=self._error)
        service.details = lambda: {"source": source.name, "run_id": run_id, "symbols": len(source.symbols()),
                                   "sent": self.sent, "acked": self.acked, "failed": self.failed,
                                   "in_flight": len(self.kafka)}

    # callbacks run inside poll()/flush(), on the producing thread
    def _delivered(self, error, message) -> None:
        if error is None:
            self.acked += 1
        else:
            self.failed += 1
            if self.failed <= 10 or self.failed % 1000 == 0:
                self.service.log.error("delivery_failed", extra={"error": str(error), "failed": self.failed})

    def _error(self, error) -> None:
        self.service.log.warning("kafka_error", extra={"error": str(error), "fatal": error.fatal()})
        if error.fatal():
            self.fatal = str(error)
            self.service.stopping.set()

    def routes(self, method: str, path: str, body: bytes):
        symbol = path.strip("/").upper()
        if method == "GET" and not symbol:
            return 200, {"source": self.source.name, "symbols": self.source.symbols()}
        if not symbol or "/" in symbol:
            return None
        if method == "POST":
            present = self.source.symbols()
            if symbol not in present and len(present) >= self.settings.producer_max_symbols:
                return 409, {"error": f"at most {self.settings.producer_max_symbols} symbols are produced "
                                      f"(BIGDATA_PRODUCER_MAX_SYMBOLS): remove one first", "symbols": present}
            try:
                added = self.source.add(symbol)
            except UnknownSymbol as error:
                return 422, {"error": str(error)}
            except ValueError as error:
                return 400, {"error": str(error)}
            self.service.log.info("symbol_added" if added else "symbol_present", extra={"symbol": symbol})
            return (201 if added else 200), {"symbol": symbol, "added": added, "symbols": self.source.symbols()}
        if method == "DELETE":
            removed = self.source.remove(symbol)
            if not removed:
                return 404, {"error": f"{symbol} is not being produced", "symbols": self.source.symbols()}
            self.service.log.info("symbol_removed", extra={"symbol": symbol})
            return 200, {"symbol": symbol, "removed": True, "symbols": self.source.symbols()}
        return None

    def connect(self) -> None:
        """Wait until the brokers answer (authenticated) and the topic is there."""
        while not self.service.stopping.is_set():
            try:
                metadata = self.kafka.list_topics(self.topic, timeout=5)
                topic = metadata.topics.get(self.topic)
                if topic is not None and topic.error is None:
                    self.service.healthy()
                    return
                problem = f"topic {self.topic}: {topic.error if topic else 'missing'}"
            except Exception as error:
                problem = f"cannot reach Kafka: {error}"
            self.service.healthy(problem)
            self.service.log.warning("kafka_unreachable", extra={"problem": problem})
            self.service.wait(2)

    def run(self) -> int:
        service, source, kafka = self.service, self.source, self.kafka
        topic, currency, kind = self.topic, self.settings.producer_currency, source.name
        prefix = f"{kind}-{self.run_id}-"
        limit = self.settings.producer_max_ticks
        produce, poll = kafka.produce, kafka.poll
        self.connect()
        stopping = service.stopping
        last_report = time.monotonic()
        while not stopping.is_set():
            quotes = source.due(time.monotonic())
            if not quotes:
                if source.exhausted:
                    service.log.info("source_exhausted")
                    break
                poll(source.idle_wait())
                continue
            if limit:
                quotes = quotes[: limit - self.sent]
            seq = self.sent
            for symbol, price, volume, trade_time in quotes:
                seq += 1
                value = (f'{{"id":"{prefix}{seq}","symbol":"{symbol}","price":{price!r},"currency":"{currency}",'
                         f'"trade_time":{trade_time},"volume":{volume},"source":"{kind}"}}')
                while True:
                    try:
                        produce(topic, value, symbol)
                        break
                    except BufferError:  # the local queue is full: let deliveries drain it
                        poll(0.05)
            self.sent = seq
            poll(0)
            if limit and self.sent >= limit:
                service.log.info("max_ticks_reached", extra={"sent": self.sent})
                break
            if time.monotonic() - last_report > 10:
                last_report = time.monotonic()
                service.log.info("progress", extra={"sent": self.sent, "acked": self.acked, "failed": self.failed})
        return self.close()

    def close(self) -> int:
        remaining = self.kafka.flush(30)
        service = self.service
        service.counters.update({"sent": self.sent, "acked": self.acked, "failed": self.failed})
        if self.fatal or remaining or self.failed:
            service.log.error("undelivered", extra={"in_flight": remaining, "failed": self.failed,
                                                    "fatal": self.fatal})
            return 1
        return 0


def main() -> int:
    settings = load_settings("producer", "kafka_user", "kafka_password", "producer_token")
    if settings is None:
        return 2
    if len(settings.producer_symbols) > settings.producer_max_symbols:
        return bad_settings("producer", f"BIGDATA_PRODUCER_SYMBOLS names {len(settings.producer_symbols)} symbols, "
                                        f"more than BIGDATA_PRODUCER_MAX_SYMBOLS ({settings.producer_max_symbols})")
    run_id = settings.producer_run_id or uuid.uuid4().hex[:12]
    service = Service("producer", settings, DEFAULT_PORT)
    try:
        source = make_source(settings)
    except SourceUnavailable as error:
        service.log.error("source_unavailable", extra={"source": settings.producer_source, "error": str(error)})
        return service.finish(EXIT_SOURCE_UNAVAILABLE)
    if getattr(source, "skipped", None):
        service.log.warning("symbols_skipped", extra={"symbols": source.skipped, "why": "no history to replay"})
    producer = Producer(service, source, run_id)
    service.routes = producer.routes
    service.control_token = settings.require("producer_token")
    service.start()
    return service.finish(producer.run())

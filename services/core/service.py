"""What every service process has: structured logs (one JSON object a line on
stdout), counters, a small HTTP endpoint (GET /health, GET /metrics for Prometheus,
plus the service's own routes), and a stop flag that SIGTERM and SIGINT set.

    service = Service("storage-writer", settings, default_port=8011)
    service.start()                       # signals + HTTP
    while not service.stopping.is_set(): ...
    service.count("stored", 10)
    return service.finish(0)              # logs the final counters, stops HTTP
"""
from __future__ import annotations

import hmac
import json
import logging
import signal
import sys
import threading
import time
from collections import Counter
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Callable, TypeVar

from services.core import metrics

# A route: (method, path, body) -> (HTTP status, JSON-able reply)
Route = Callable[[str, str, bytes], "tuple[int, object] | None"]

T = TypeVar("T")

MAX_BODY = 64 * 1024  # bytes of a request body read at most; a longer one is refused (413)

_RESERVED = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    def __init__(self, service: str):
        super().__init__()
        self.service = service

    def format(self, record: logging.LogRecord) -> str:
        line = {
            "ts": datetime.fromtimestamp(record.created, tz=timezone.utc).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "service": self.service,
            "logger": record.name,
            "event": record.getMessage(),
        }
        for key, value in record.__dict__.items():
            if key not in _RESERVED and not key.startswith("_"):
                line[key] = value
        if record.exc_info:
            line["error"] = self.formatException(record.exc_info)
        return json.dumps(line, default=str)


def configure_logging(service: str, level: str = "INFO") -> logging.Logger:
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(JsonFormatter(service))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level.upper())
    # the drivers' chatter stays at warnings unless asked for
    for noisy in ("cassandra", "kafka", "urllib3", "yfinance", "peewee"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))
    return logging.getLogger(f"services.{service}")


class Service:
    def __init__(self, name: str, settings, default_port: int, routes: Route | None = None):
        self.name = name
        self.settings = settings
        self.log = configure_logging(name, settings.log_level)
        self.port = settings.port_for(default_port)
        self.routes = routes
        self.stopping = threading.Event()
        self.counters: Counter = Counter()
        self.state = "starting"
        self.problem: str | None = None  # what makes health fail, if anything
        self.details: Callable[[], dict] | None = None  # extra fields for /health
        # a consumer's lag, (topic, partition) -> records behind, for /metrics
        self.lag: Callable[[], dict[tuple[str, int], int]] | None = None
        # when set, every request but a GET must carry `Authorization: Bearer <this>`
        self.control_token: str | None = None
        self.started = time.time()
        self._lock = threading.Lock()
        self._http: ThreadingHTTPServer | None = None
        self._metrics = metrics.registry_of(self)

    # --- counters ------------------------------------------------------------------
    def count(self, name: str, amount: int = 1) -> None:
        with self._lock:
            self.counters[name] += amount

    def count_rejected(self, reason: str) -> None:
        """One more record refused for `reason` (its counter: rejected.<reason>; /metrics: by reason)."""
        self.count(f"{metrics.REJECTED}{reason}")

    def snapshot(self) -> dict:
        with self._lock:
            return dict(self.counters)

    # --- life cycle ----------------------------------------------------------------
    def start(self) -> None:
        signal.signal(signal.SIGTERM, self._on_signal)
        signal.signal(signal.SIGINT, self._on_signal)
        self._serve_http()
        self.log.info("started", extra={"settings": self.settings.public(), "http_port": self.port})

    def _on_signal(self, signum, frame) -> None:
        if not self.stopping.is_set():
            self.log.info("stopping", extra={"signal": signal.Signals(signum).name})
            self.state = "stopping"
        self.stopping.set()

    def wait(self, seconds: float) -> bool:
        """Sleep unless asked to stop; True when stopping."""
        return self.stopping.wait(seconds)

    def reach(self, what: str, connect: Callable[[], T]) -> T | None:
        """connect()'s result, tried again every 5 s while it fails (a backing service
        not up yet: wait, do not die, report degraded); None when asked to stop meanwhile."""
        while True:
            try:
                return connect()
            except Exception as error:
                self.healthy(f"cannot reach {what}: {error}")
                self.log.warning(f"{what.lower()}_unreachable", extra={"error": str(error)})
                if self.wait(5):
                    return None

    def healthy(self, problem: str | None = None) -> None:
        self.problem = problem
        if self.state != "stopping":
            self.state = "running" if problem is None else "degraded"

    def uptime(self) -> float:
        return round(time.time() - self.started, 1)

    def health(self) -> tuple[int, dict]:
        body = {"service": self.name, "status": self.state, "uptime_s": self.uptime(),
                "counters": self.snapshot()}
        if self.problem:
            body["problem"] = self.problem
        if self.details:
            try:
                body.update(self.details())
            except Exception as error:  # a health page never fails on its extras
                body["details_error"] = str(error)
        return (200 if self.state == "running" else 503), body

    def finish(self, code: int) -> int:
        self.state = "stopped"
        self.log.info("stopped", extra={"exit_code": code, "counters": self.snapshot(),
                                        "uptime_s": self.uptime()})
        if self._http:
            self._http.shutdown()
            self._http.server_close()
        logging.shutdown()
        return code

    def authorized(self, header: str | None) -> bool:
        """A control request's Authorization header carries the token (compared in constant time)."""
        if self.control_token is None:
            return True
        scheme, _, token = (header or "").partition(" ")
        return scheme.lower() == "bearer" and hmac.compare_digest(token.strip().encode(), self.control_token.encode())

    # --- HTTP ------------------------------------------------------------------------
    def _serve_http(self) -> None:
        service = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            timeout = service.settings.http_timeout_s  # a stalled client is dropped (http.server closes it)

            def _reply(self, status: int, body, content_type: str = "application/json") -> None:
                data = body if isinstance(body, bytes) else (json.dumps(body) + "\n").encode()
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(data)))
                if self.close_connection:
                    self.send_header("Connection", "close")
                self.end_headers()
                self.wfile.write(data)

            def _refuse(self, status: int, error: str) -> None:
                """A 4xx, and the connection closed: what is left of the request is not read."""
                self.close_connection = True
                self._reply(status, {"error": error})

            def _handle(self, method: str) -> None:
                length = (self.headers.get("Content-Length") or "0").strip()
                if not length.isdigit():
                    return self._refuse(400, f"Content-Length {length[:20]!r} is not a number of bytes")
                if int(length) > MAX_BODY:
                    return self._refuse(413, f"a request body has at most {MAX_BODY} bytes")
                body = self.rfile.read(int(length)) if int(length) else b""
                if len(body) < int(length):
                    return self._refuse(400, "the body ended before its Content-Length")
                path = self.path.split("?", 1)[0]
                if method != "GET" and not service.authorized(self.headers.get("Authorization")):
                    return self._refuse(401, "a control request needs `Authorization: Bearer <token>`")
                try:
                    if method == "GET" and path == "/health":
                        reply = service.health()
                    elif method == "GET" and path == "/metrics":
                        return self._reply(200, metrics.exposition(service._metrics), metrics.CONTENT_TYPE)
                    else:
                        reply = service.routes(method, path, body) if service.routes else None
                    self._reply(*(reply or (404, {"error": f"no route {method} {path}"})))
                except Exception as error:
                    service.log.exception("http_error", extra={"method": method, "path": path})
                    self._reply(500, {"error": str(error)})

            def do_GET(self):
                self._handle("GET")

            def do_POST(self):
                self._handle("POST")

            def do_PUT(self):
                self._handle("PUT")

            def do_DELETE(self):
                self._handle("DELETE")

            def log_message(self, format, *args):  # access logs only at debug level
                service.log.debug("http", extra={"request": format % args})

        self._http = _BoundedHTTPServer((self.settings.http_host, self.port), Handler,
                                        self.settings.http_max_connections)
        self.port = self._http.server_address[1]
        threading.Thread(target=self._http.serve_forever, name="http", daemon=True).start()


_BUSY_BODY = b'{"error": "too many connections at once: try again shortly"}\n'
BUSY = (b"HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\nContent-Length: %d\r\n"
        b"Connection: close\r\n\r\n%s" % (len(_BUSY_BODY), _BUSY_BODY))


class _BoundedHTTPServer(ThreadingHTTPServer):
    """A thread per connection, at most `limit` at once: one more is answered 503 and closed
    at once, without a thread."""
    daemon_threads = True

    def __init__(self, address, handler, limit: int):
        self.slots = threading.BoundedSemaphore(limit)
        super().__init__(address, handler)

    def process_request(self, request, client_address):
        if not self.slots.acquire(blocking=False):
            try:
                request.sendall(BUSY)
            except OSError:
                pass
            self.shutdown_request(request)
            return
        try:
            super().process_request(request, client_address)
        except BaseException:
            self.slots.release()
            raise

    def process_request_thread(self, request, client_address):
        try:
            super().process_request_thread(request, client_address)
        finally:
            self.slots.release()


def load_settings(service: str, *secrets: str):
    """Settings from the environment, with the named secrets present; None (after a
    JSON error line) when they cannot be used: the service then exits 2."""
    from services.core.settings import SettingError, Settings
    try:
        settings = Settings.from_env()
        for name in secrets:
            settings.require(name)
        if settings.redis_tls or settings.kafka_tls() or settings.cassandra_tls:  # the backends' certificates are checked against it
            settings.require_file("tls_ca_file")
        return settings
    except SettingError as error:
        bad_settings(service, str(error))
        return None


def bad_settings(service: str, error: str) -> int:
    """The JSON error line of settings a service cannot use; its exit code (2)."""
    print(json.dumps({"ts": datetime.now(timezone.utc).isoformat(timespec="milliseconds"), "level": "error",
                      "service": service, "event": "bad_settings", "error": error}), flush=True)
    return 2


def serve(name: str, default_port: int, secrets: tuple[str, ...], body: Callable[[Service, object], int]) -> int:
    """A service's main: its settings (exit 2 when they cannot be used), the service
    started, body(service, settings), then the final log line; body's exit code."""
    settings = load_settings(name, *secrets)
    if settings is None:
        return 2
    service = Service(name, settings, default_port)
    service.start()
    return service.finish(body(service, settings))

"""The dashboard's process (see the package's docstring)."""
from __future__ import annotations

import json
import logging
import os
import threading
import time
import urllib.request
from pathlib import Path

from flask import Flask, jsonify, send_from_directory
from flask_socketio import SocketIO, emit, join_room, leave_room
from werkzeug.serving import make_server

from services.core import analytics, clients, names
from services.core.service import Service, load_settings
from services.core.tick import SYMBOL_PATTERN, Rejected
from services.dashboard.history import History

DEFAULT_PORT = 8050
STATIC = Path(__file__).resolve().parent / "static"
VENDORED = ("vendor/socket.io.min.js", "vendor/lightweight-charts.js")  # what ctl/frontend.py puts there
RETRY_S = 5


class DashboardService(Service):
    """The runtime of every service, but /health is served by the Flask app on the one
    port the page and Socket.IO share (Marathon gives the dashboard one port)."""

    def __init__(self, settings, app: Flask):
        super().__init__("dashboard", settings, DEFAULT_PORT)
        self.app = app
        if settings.log_level.upper() != "DEBUG":  # werkzeug logs every request at INFO
            logging.getLogger("werkzeug").setLevel(logging.WARNING)

    def _serve_http(self) -> None:
        self._http = make_server(self.settings.http_host, self.port, self.app, threaded=True)
        self._http.daemon_threads = True
        self.port = self._http.server_address[1]
        threading.Thread(target=self._http.serve_forever, name="http", daemon=True).start()


class Dashboard:
    def __init__(self, settings):
        self.settings = settings
        self.app = Flask(__name__, static_folder=None)
        # threading mode: no monkey-patching; WebSocket through simple-websocket
        self.socketio = SocketIO(self.app, async_mode="threading", logger=False, engineio_logger=False)
        self.service = DashboardService(settings, self.app)
        # named, so that an operator (and the tests) can tell its connections in CLIENT LIST
        self.redis = clients.redis_client(settings, client_name=f"dashboard-{os.getpid()}")
        self.history: History | None = None
        self.problems: dict[str, str] = {"redis": "not subscribed yet", "cassandra": "not connected yet"}
        self._problems_lock = threading.Lock()
        self.clients = 0
        self._routes()
        self._events()
        self.service.details = lambda: {"clients": self.clients}

    # --- health --------------------------------------------------------------------------
    def problem(self, backend: str, text: str | None) -> None:
        with self._problems_lock:
            if text is None:
                self.problems.pop(backend, None)
            else:
                self.problems[backend] = text
            self.service.healthy("; ".join(f"{k}: {v}" for k, v in sorted(self.problems.items())) or None)

    # --- HTTP ------------------------------------------------------------------------------
    def _routes(self) -> None:
        app = self.app

        @app.get("/health")
        def health():
            status, body = self.service.health()
            return jsonify(body), status

        @app.get("/")
        def index():
            return send_from_directory(STATIC, "index.html", max_age=0)

        @app.get("/static/<path:path>")
        def static(path):
            return send_from_directory(STATIC, path, max_age=0 if path.endswith(".html") else 3600)

    # --- Socket.IO -------------------------------------------------------------------------
    def _events(self) -> None:
        io = self.socketio

        @io.on("connect")
        def connect(auth=None):
            self.clients += 1
            self.service.count("connections")
            emit("hello", {"symbols": list(self.settings.dashboard_symbols),
                           "history_minutes": self.settings.dashboard_history_minutes})

        @io.on("disconnect")
        def disconnect(reason=None):
            self.clients -= 1

        @io.on("subscribe")
        def subscribe(message):
            symbol = _symbol(message)
            if symbol is None:
                return {"error": "symbol: 1..16 of A-Z 0-9 . - ^ ="}
            join_room(symbol)
            if isinstance(message, dict) and message.get("add"):
                self.add_to_producer(symbol)
            emit("snapshot", self.snapshot(symbol))
            self.service.count("snapshots")
            return {"symbol": symbol}

        @io.on("unsubscribe")
        def unsubscribe(message):
            symbol = _symbol(message)
            if symbol is not None:
                leave_room(symbol)
            return {"symbol": symbol}

    def snapshot(self, symbol: str) -> dict:
        """What a page needs for a symbol it starts to show: the newest record of each
        window (Redis) and the recent 1-minute candles (Cassandra)."""
        reply = {"symbol": symbol, "latest": {}, "candles": []}
        try:
            reply["latest"] = {window: json.loads(value) for window, value in
                               self.redis.hgetall(names.LATEST_KEY_PREFIX + symbol).items()}
        except Exception as error:
            reply["error"] = f"latest values: {error}"
            self.service.log.warning("latest_failed", extra={"symbol": symbol, "error": str(error)})
        if self.history is None:
            reply["error"] = "history: Cassandra not connected yet"
            return reply
        try:
            reply["candles"] = self.history.candles(symbol)
        except Exception as error:
            reply["error"] = f"history: {error}"
            self.service.log.warning("history_failed", extra={"symbol": symbol, "error": str(error)})
        return reply

    def add_to_producer(self, symbol: str) -> None:
        """The page added a symbol: have the producer produce it too, when we know where it is.
        (Removing is not passed on: another page may still show the symbol.)"""
        if not self.settings.producer_url:
            return
        url = f"{self.settings.producer_url.rstrip('/')}/{symbol}"
        try:
            with urllib.request.urlopen(urllib.request.Request(url, method="POST"), timeout=5) as reply:
                self.service.log.info("producer_symbol_added", extra={"symbol": symbol, "status": reply.status})
        except Exception as error:  # e.g. 422: a source that cannot produce it; the page still subscribes
            self.service.log.warning("producer_symbol_failed", extra={"symbol": symbol, "error": str(error)})

    # --- backends --------------------------------------------------------------------------
    def connect_cassandra(self) -> None:
        """Until connected (the service runs meanwhile, without history)."""
        while not self.service.stopping.is_set():
            try:
                session = clients.cassandra_session(self.settings)
                self.history = History(session, self.settings.dashboard_history_minutes,
                                       self.settings.dashboard_history_max_ticks)
                self.problem("cassandra", None)
                return
            except Exception as error:
                self.problem("cassandra", f"cannot connect: {error}")
                self.service.log.warning("cassandra_unreachable", extra={"error": str(error)})
                self.service.wait(RETRY_S)

    def listen(self) -> None:
        """Redis pub/sub -> Socket.IO rooms (one per symbol), until stopping."""
        while not self.service.stopping.is_set():
            pubsub = self.redis.pubsub(ignore_subscribe_messages=True)
            try:
                pubsub.subscribe(names.ANALYTICS_CHANNEL)
                pubsub.get_message(timeout=5)  # the subscription's confirmation
                self.problem("redis", None)
                self.service.log.info("subscribed", extra={"channel": names.ANALYTICS_CHANNEL})
                while not self.service.stopping.is_set():
                    message = pubsub.get_message(timeout=1)
                    if message and message["type"] == "message":
                        self.forward(message["data"])
            except Exception as error:
                self.problem("redis", f"subscription lost: {error}")
                self.service.log.warning("redis_unreachable", extra={"error": str(error)})
                self.service.wait(RETRY_S)
            finally:
                try:
                    pubsub.close()
                except Exception:
                    pass

    def forward(self, data: str) -> None:
        """One record from the channel to the pages showing its symbol, as it is (with
        last_trade_time: the pages' latency clock). A bad record is counted, not sent."""
        self.service.count("records")
        try:
            record = analytics.validate(data)
        except Rejected as rejected:
            self.service.count(f"rejected.{rejected.reason}")
            self.service.log.warning("record_rejected", extra={"reason": rejected.reason, "detail": rejected.detail})
            return
        self.socketio.emit("analytics", json.loads(record.json), to=record.symbol)
        self.service.count("emitted")


def _symbol(message) -> str | None:
    symbol = message.get("symbol") if isinstance(message, dict) else message
    if not isinstance(symbol, str):
        return None
    symbol = symbol.strip().upper()
    return symbol if SYMBOL_PATTERN.match(symbol) else None


def vendored_missing() -> list[str]:
    return [name for name in VENDORED if not (STATIC / name).is_file()]


def main() -> int:
    settings = load_settings("dashboard", "redis_password", "cassandra_password")
    if settings is None:
        return 2
    missing = vendored_missing()
    if missing:
        print(json.dumps({"ts": time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime()), "level": "error", "service": "dashboard", "event": "frontend_missing",
                          "error": f"{', '.join(missing)} missing in {STATIC}: run `python -m ctl.frontend` "
                                   f"(npm ci of services/dashboard/frontend) first"}), flush=True)
        return 2
    dashboard = Dashboard(settings)
    service = dashboard.service
    service.start()
    dashboard.problem("redis", dashboard.problems["redis"])  # starting -> degraded until both are there
    threading.Thread(target=dashboard.connect_cassandra, name="cassandra", daemon=True).start()
    listener = threading.Thread(target=dashboard.listen, name="redis", daemon=True)
    listener.start()
    service.stopping.wait()
    listener.join(10)
    if dashboard.history is not None:
        dashboard.history.session.cluster.shutdown()
    dashboard.redis.close()
    return service.finish(0)

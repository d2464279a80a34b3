"""The dashboard's process (see the package's docstring)."""
from __future__ import annotations

import hmac
import json
import logging
import os
import resource
import signal
import threading
import time
import urllib.request
from collections import deque
from pathlib import Path

import gevent
from flask import Flask, Response, jsonify, request, send_from_directory
from flask_socketio import SocketIO, emit, join_room, leave_room
from gevent import monkey, pywsgi

from services.core import analytics, clients
from shared import names
from services.core.service import Service, bad_settings, load_settings
from services.core.settings import SettingError
from services.core.tick import SYMBOL_PATTERN, Rejected
from services.dashboard.history import History

DEFAULT_PORT = 8050
STATIC = Path(__file__).resolve().parent / "static"
VENDORED = ("vendor/socket.io.min.js", "vendor/lightweight-charts.js")  # what ctl/frontend.py puts there
RETRY_S = 5
HISTORY_CONCURRENCY = 4  # Cassandra history reads at once: a thousand pages opening do not flood it
HISTORY_CACHE_S = 2.0     # a symbol's candles are shared by the pages that open it within this time
BACKLOG = 4096  # pending connections: a thousand pages reconnecting at once after a restart
# the two channels, one subscription: Spark's final records and the live lane's provisional ones
CHANNELS = {names.ANALYTICS_CHANNEL: "analytics", names.LIVE_CHANNEL: "live"}  # channel -> Socket.IO event
LOGIN_CHALLENGE = 'Basic realm="bigdata dashboard", charset="UTF-8"'


class _Handler(pywsgi.WSGIHandler):
    """gevent's request handler, but a connection that became a WebSocket is closed when the
    WebSocket ends: simple-websocket took the socket over, so what follows on it is WebSocket
    frames (the client's close), not another HTTP request to parse (and log as invalid)."""

    def run_application(self):
        try:
            super().run_application()
        finally:
            if self.environ.get("HTTP_UPGRADE", "").lower() == "websocket":
                self.close_connection = True


class _Server:
    """gevent's WSGI server with the two calls Service.finish makes on its HTTP server."""

    def __init__(self, server: pywsgi.WSGIServer):
        self.server = server

    def shutdown(self) -> None:
        self.server.stop(timeout=2)  # closes the listener, then the open connections

    def server_close(self) -> None:
        pass


class DashboardService(Service):
    """The runtime of every service, but /health is served by the Flask app on the one
    port the page and Socket.IO share (Marathon gives the dashboard one port), by
    gevent's WSGI server (Flask-SocketIO's production server; WebSocket through
    simple-websocket), one greenlet per connection."""

    def __init__(self, settings, app: Flask):
        super().__init__("dashboard", settings, DEFAULT_PORT)
        self.app = app

    def start(self) -> None:
        super().start()
        # SIGTERM/SIGINT through gevent's loop: the handler runs in its own greenlet at once,
        # and setting the (gevent) stop flag wakes the main greenlet waiting on it
        for signum in (signal.SIGTERM, signal.SIGINT):
            gevent.signal_handler(signum, self._on_signal, signum, None)

    def _serve_http(self) -> None:
        access = logging.getLogger("gevent.pywsgi")  # each request at debug level, errors as errors
        tls = {"certfile": self.settings.dashboard_tls_cert, "keyfile": self.settings.dashboard_tls_key} \
            if self.settings.dashboard_tls_cert else {}  # (main checked both files)
        server = pywsgi.WSGIServer((self.settings.http_host, self.port), self.app, backlog=BACKLOG, **tls,
                                   handler_class=_Handler,
                                   log=pywsgi.LoggingLogAdapter(access, logging.DEBUG),
                                   error_log=pywsgi.LoggingLogAdapter(access, logging.ERROR))
        server.start()  # bound and accepting in gevent's loop
        self.port = server.server_port
        self._http = _Server(server)


class Page:
    """What one connected page holds: the symbols it shows, and when it last asked for
    snapshots (each one a history read from Cassandra)."""

    def __init__(self):
        self.symbols: set[str] = set()
        self.snapshots: deque[float] = deque()

    def refusal(self, symbol: str, settings) -> str | None:
        """Why this page may not subscribe to `symbol` now, or None (then the snapshot is counted)."""
        if symbol not in self.symbols and len(self.symbols) >= settings.dashboard_max_symbols:
            return f"a page shows at most {settings.dashboard_max_symbols} symbols: remove one first"
        now = time.monotonic()
        while self.snapshots and now - self.snapshots[0] > 60:
            self.snapshots.popleft()
        if len(self.snapshots) >= settings.dashboard_snapshots_per_minute:
            return (f"at most {settings.dashboard_snapshots_per_minute} symbol snapshots a minute per page: "
                    f"try again in {60 - (now - self.snapshots[0]):.0f}s")
        self.snapshots.append(now)
        return None


class Dashboard:
    def __init__(self, settings):
        self.settings = settings
        self.app = Flask(__name__, static_folder=None)
        # gevent mode (the process is monkey-patched by __main__); WebSocket through simple-websocket
        # a page of another origin is refused (Socket.IO's own check), unless allowed by name
        self.socketio = SocketIO(self.app, async_mode="gevent", logger=False, engineio_logger=False,
                                 cors_allowed_origins=list(settings.dashboard_allowed_origins) or None)
        self.service = DashboardService(settings, self.app)
        # named, so that an operator (and the tests) can tell its connections in CLIENT LIST
        self.redis = clients.redis_client(settings, client_name=f"dashboard-{os.getpid()}")
        self.history: History | None = None
        self.problems: dict[str, str] = {"redis": "not subscribed yet", "cassandra": "not connected yet"}
        self._problems_lock = threading.Lock()
        self.clients = 0
        self._history_gate = threading.BoundedSemaphore(HISTORY_CONCURRENCY)
        self._history_cache: dict[str, tuple[float, int, list]] = {}  # symbol -> (monotonic, minute, candles)
        self._pages: dict[str, Page] = {}  # Socket.IO session id -> what that page holds
        self._routes()
        self._events()
        self.service.details = self.details

    def details(self) -> dict:
        """/health's extras: the clients, and what serves them (so that a deployment running
        the wrong server, or a Cassandra driver not on gevent's reactor, shows)."""
        connection = self.history.session.cluster.connection_class.__name__ if self.history else None
        return {"clients": self.clients, "async_mode": self.socketio.server.eio.async_mode,
                "server": "gevent.pywsgi", "websocket": "simple-websocket",
                "monkey_patched": monkey.is_module_patched("socket"), "cassandra_connection": connection}

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

        @app.before_request
        def login():
            if request.path != "/health" and not logged_in(self.settings, request.authorization):
                return Response("the dashboard asks for its login\n", 401, {"WWW-Authenticate": LOGIN_CHALLENGE})

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
            if not logged_in(self.settings, request.authorization):  # (the handshake's own request)
                self.service.count("connections_refused")
                return False
            self._pages[request.sid] = Page()
            self.clients += 1
            self.service.count("connections")
            emit("hello", {"symbols": list(self.settings.dashboard_symbols),
                           "history_minutes": self.settings.dashboard_history_minutes})

        @io.on("disconnect")
        def disconnect(reason=None):
            self._pages.pop(request.sid, None)
            self.clients -= 1

        @io.on("subscribe")
        def subscribe(message):
            symbol = _symbol(message)
            if symbol is None:
                return {"error": "symbol: 1..16 of A-Z 0-9 . - ^ ="}
            page = self._pages.setdefault(request.sid, Page())
            refused = page.refusal(symbol, self.settings)
            if refused:
                self.service.count("subscribes_refused")
                return {"error": refused}
            page.symbols.add(symbol)
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
                self._pages.get(request.sid, Page()).symbols.discard(symbol)
            return {"symbol": symbol}

    def snapshot(self, symbol: str) -> dict:
        """What a page needs for a symbol it starts to show: the newest record of each
        window (Redis: Spark's in `latest`, the live lane's provisional ones in `live`) and
        the recent 1-minute candles (Cassandra)."""
        reply = {"symbol": symbol, "latest": {}, "live": {}, "candles": []}
        try:
            pipe = self.redis.pipeline(transaction=False)
            pipe.hgetall(names.LATEST_KEY_PREFIX + symbol)
            pipe.hgetall(names.LIVE_KEY_PREFIX + symbol)
            latest, live = pipe.execute()
            reply["latest"] = {window: json.loads(value) for window, value in latest.items()}
            reply["live"] = {window: json.loads(value) for window, value in live.items()}
        except Exception as error:
            reply["error"] = f"latest values: {error}"
            self.service.log.warning("latest_failed", extra={"symbol": symbol, "error": str(error)})
        if self.history is None:
            reply["error"] = "history: Cassandra not connected yet"
            return reply
        try:
            reply["candles"] = self.candles(symbol)
        except Exception as error:
            reply["error"] = f"history: {error}"
            self.service.log.warning("history_failed", extra={"symbol": symbol, "error": str(error)})
        return reply

    def candles(self, symbol: str) -> list[dict]:
        """The symbol's history candles: a few reads at a time, and one read shared by the
        pages that open the symbol within HISTORY_CACHE_S (within the same minute)."""
        def fresh():
            found = self._history_cache.get(symbol)
            if found and time.monotonic() - found[0] < HISTORY_CACHE_S and found[1] == int(time.time()) // 60:
                return found[2]
            return None

        cached = fresh()
        if cached is not None:
            return cached
        with self._history_gate:
            cached = fresh()  # read by another page while this one waited
            if cached is not None:
                return cached
            minute = int(time.time()) // 60
            candles = self.history.candles(symbol)
            self._history_cache[symbol] = (time.monotonic(), minute, candles)
            return candles

    def add_to_producer(self, symbol: str) -> None:
        """The page added a symbol: have the producer produce it too, when we know where it is.
        (Removing is not passed on: another page may still show the symbol.)"""
        if not self.settings.producer_url:
            return
        url = f"{self.settings.producer_url.rstrip('/')}/{symbol}"
        token = self.settings.require("producer_token")
        try:
            with urllib.request.urlopen(urllib.request.Request(url, method="POST", headers={
                    "Authorization": f"Bearer {token}"}), timeout=5) as reply:
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
        """Redis pub/sub (both channels, one subscription) -> Socket.IO rooms (one per
        symbol), until stopping. A greenlet: it waits on the socket cooperatively."""
        while not self.service.stopping.is_set():
            pubsub = self.redis.pubsub(ignore_subscribe_messages=True)
            try:
                pubsub.subscribe(*CHANNELS)
                for _ in CHANNELS:
                    pubsub.get_message(timeout=5)  # the subscriptions' confirmations
                self.problem("redis", None)
                self.service.log.info("subscribed", extra={"channel": names.ANALYTICS_CHANNEL,
                                                           "channels": list(CHANNELS)})
                while not self.service.stopping.is_set():
                    message = pubsub.get_message(timeout=1)
                    if message and message["type"] == "message":
                        self.forward(message["data"], message["channel"])
            except Exception as error:
                self.problem("redis", f"subscription lost: {error}")
                self.service.log.warning("redis_unreachable", extra={"error": str(error)})
                self.service.wait(RETRY_S)
            finally:
                try:
                    pubsub.close()
                except Exception:
                    pass

    def forward(self, data: str, channel: str = names.ANALYTICS_CHANNEL) -> None:
        """One record from a channel to the pages showing its symbol, as it is (with
        last_trade_time: the pages' latency clock): Spark's as the event `analytics`, the
        live lane's provisional ones as `live`. Both are analytics records
        (core/analytics.py; a live one also has `provisional` and `published_at`). A bad
        record is counted, not sent. Counters: records/emitted (analytics),
        live.records/live.emitted, rejected.<reason> (either channel)."""
        event = CHANNELS.get(channel, "analytics")
        prefix = "live." if event == "live" else ""
        self.service.count(f"{prefix}records")
        try:
            record = analytics.validate(data)
        except Rejected as rejected:
            self.service.count_rejected(rejected.reason)
            self.service.log.warning("record_rejected", extra={"reason": rejected.reason, "detail": rejected.detail,
                                                               "channel": channel})
            return
        self.socketio.emit(event, json.loads(record.json), to=record.symbol)
        self.service.count(f"{prefix}emitted")


def logged_in(settings, authorization) -> bool:
    """Whether a request carries the dashboard login (HTTP basic auth); always, without a login."""
    if not settings.dashboard_password:
        return True
    return (authorization is not None and authorization.type == "basic"
            and hmac.compare_digest((authorization.username or "").encode(), settings.dashboard_login_user.encode())
            and hmac.compare_digest((authorization.password or "").encode(),
                                    settings.dashboard_password.get_secret_value().encode()))


def _symbol(message) -> str | None:
    symbol = message.get("symbol") if isinstance(message, dict) else message
    if not isinstance(symbol, str):
        return None
    symbol = symbol.strip().upper()
    return symbol if SYMBOL_PATTERN.match(symbol) else None


def vendored_missing() -> list[str]:
    return [name for name in VENDORED if not (STATIC / name).is_file()]


def _more_files() -> None:
    """Each WebSocket client is a file descriptor: the soft limit up to the hard one."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != hard:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
        except (ValueError, OSError):
            pass


def main() -> int:
    settings = load_settings("dashboard", "redis_password", "cassandra_user", "cassandra_password")
    if settings is None:
        return 2
    if bool(settings.dashboard_tls_cert) != bool(settings.dashboard_tls_key):
        return bad_settings("dashboard", "BIGDATA_DASHBOARD_TLS_CERT and BIGDATA_DASHBOARD_TLS_KEY go together: "
                                         "set both (HTTPS) or neither (plain HTTP)")
    try:
        for name in ("dashboard_tls_cert", "dashboard_tls_key") if settings.dashboard_tls_cert else ():
            settings.require_file(name)
    except SettingError as error:
        return bad_settings("dashboard", str(error))
    if settings.producer_url and not settings.producer_token:
        return bad_settings("dashboard", "BIGDATA_PRODUCER_URL is set without BIGDATA_PRODUCER_TOKEN (a secret): "
                                         "the producer refuses a request without it")
    if not monkey.is_module_patched("socket"):  # python -m services.dashboard patches first thing
        print(json.dumps({"ts": time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime()), "level": "error",
                          "service": "dashboard", "event": "not_monkey_patched",
                          "error": "run it as `python -m services.dashboard` (gevent's monkey-patching "
                                   "must come before any other import)"}), flush=True)
        return 2
    _more_files()
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
    # greenlets (threading is gevent's here): the Cassandra connection, the Redis listener
    threading.Thread(target=dashboard.connect_cassandra, name="cassandra", daemon=True).start()
    listener = threading.Thread(target=dashboard.listen, name="redis", daemon=True)
    listener.start()
    service.stopping.wait()
    listener.join(10)
    if dashboard.history is not None:
        dashboard.history.session.cluster.shutdown()
    dashboard.redis.close()
    return service.finish(0)

"""Every setting of the pipeline's services: one environment variable each, with
its documented default. `Settings.from_env()` reads them; `describe()` lists
them (services/README.md documents the same list, and a unit test keeps the two
in step).

Secrets (passwords) have no default: a client factory that needs one fails with
the variable's name when it is missing. A secret is read from its variable, or from
the file its `<variable>_FILE` names (where Swarm mounts its secrets, /run/secrets/...),
so that its value never sits in the container's environment.
"""
from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, field, fields
from typing import Mapping

from shared import names

# ISO 4217 codes a tick may carry (BIGDATA_TICK_CURRENCIES overrides the set)
DEFAULT_CURRENCIES = ("USD", "EUR", "GBP", "JPY", "CHF", "CAD", "AUD", "HKD", "CNY", "SEK", "NOK", "DKK",
                      "INR", "SGD", "KRW", "BRL", "ZAR", "MXN", "NZD", "TWD")

# The synthetic source's default universe: large, liquid US listings
DEFAULT_SYMBOLS = ("AAPL", "MSFT", "GOOG", "AMZN", "META", "NVDA", "TSLA", "IBM", "ORCL", "INTC",
                   "AMD", "CSCO", "ADBE", "CRM", "NFLX", "PYPL", "QCOM", "TXN", "AVGO", "MU",
                   "JPM", "BAC", "WFC", "GS", "MS", "C", "V", "MA", "AXP", "BRK.B",
                   "XOM", "CVX", "KO", "PEP", "WMT", "COST", "HD", "MCD", "NKE", "DIS",
                   "PFE", "MRK", "JNJ", "UNH", "ABBV", "LLY", "T", "VZ", "BA", "CAT")


class SettingError(ValueError):
    """A setting's value cannot be used; the message names the variable."""


def _read_secret_file(variable: str, path: str) -> str:
    try:
        with open(path) as secret_file:
            return secret_file.read().rstrip("\r\n")
    except OSError as error:
        raise SettingError(f"{variable}={path}: cannot be read ({error.strerror})") from None


def setting(env: str, default, doc: str, *, secret: bool = False):
    """A field read from environment variable `env` (None default: unset)."""
    meta = {"env": env, "doc": doc, "secret": secret}
    if isinstance(default, (list, tuple)):
        return field(default=tuple(default), metadata=meta)
    return field(default=default, metadata=meta)


@dataclass(frozen=True)
class Settings:
    # --- Kafka -------------------------------------------------------------------
    kafka_bootstrap: str = setting("BIGDATA_KAFKA_BOOTSTRAP", "bigdata:9092",
                                   "Kafka bootstrap servers, comma-separated host:port")
    kafka_user: str = setting("BIGDATA_KAFKA_USER", names.KAFKA_CLIENT_USER, "Kafka SASL user")
    kafka_password: str | None = setting("BIGDATA_KAFKA_CLIENT_PASSWORD", None,
                                         "Kafka SASL password (secret, required)", secret=True)
    kafka_security_protocol: str = setting("BIGDATA_KAFKA_SECURITY_PROTOCOL", "SASL_PLAINTEXT",
                                           "Kafka security.protocol")
    kafka_sasl_mechanism: str = setting("BIGDATA_KAFKA_SASL_MECHANISM", "SCRAM-SHA-512", "Kafka sasl.mechanism")
    kafka_session_timeout_ms: int = setting("BIGDATA_KAFKA_SESSION_TIMEOUT_MS", 10000,
                                            "consumer group session timeout: how soon a killed consumer's "
                                            "partitions move to another (or its restart)")
    kafka_auto_offset_reset: str = setting("BIGDATA_KAFKA_AUTO_OFFSET_RESET", "earliest",
                                           "where a new consumer group starts: earliest or latest")

    # --- Cassandra ---------------------------------------------------------------
    cassandra_hosts: tuple = setting("BIGDATA_CASSANDRA_HOSTS", ("bigdata",), "Cassandra contact points, comma-separated")
    cassandra_port: int = setting("BIGDATA_CASSANDRA_PORT", 9042, "Cassandra native transport port")
    cassandra_user: str = setting("BIGDATA_CASSANDRA_USER", "bigdata_admin", "Cassandra login")
    cassandra_password: str | None = setting("BIGDATA_CASSANDRA_PASSWORD", None,
                                             "Cassandra password (secret, required)", secret=True)
    cassandra_dc: str = setting("BIGDATA_CASSANDRA_DC", "dc1", "the local data center (load balancing)")
    cassandra_consistency: str = setting("BIGDATA_CASSANDRA_CONSISTENCY", "LOCAL_QUORUM",
                                         "consistency level of the writer's inserts")

    # --- Redis -------------------------------------------------------------------
    redis_host: str = setting("BIGDATA_REDIS_HOST", "bigdata", "Redis host")
    redis_port: int = setting("BIGDATA_REDIS_PORT", 6379, "Redis port")
    redis_password: str | None = setting("BIGDATA_REDIS_PASSWORD", None, "Redis password (secret, required)",
                                         secret=True)

    # --- every service -----------------------------------------------------------
    http_host: str = setting("BIGDATA_HTTP_HOST", "0.0.0.0", "address of the HTTP endpoint (/health)")
    http_port: int | None = setting("BIGDATA_HTTP_PORT", None,
                                    "port of the HTTP endpoint; unset: $PORT0 (Marathon), else the "
                                    "service's own (producer 8010, storage writer 8011, publisher 8012, "
                                    "dashboard 8050)")
    log_level: str = setting("BIGDATA_LOG_LEVEL", "INFO", "DEBUG, INFO, WARNING or ERROR")

    # --- the tick contract (validation) -------------------------------------------
    tick_max_bytes: int = setting("BIGDATA_TICK_MAX_BYTES", 1024, "largest tick message accepted (bytes)")
    tick_max_future_s: int = setting("BIGDATA_TICK_MAX_FUTURE_S", 300,
                                     "how far a trade time may lie after the record's timestamp")
    tick_max_past_s: int = setting("BIGDATA_TICK_MAX_PAST_S", 7 * 86400,
                                   "how far a trade time may lie before the record's timestamp")
    tick_currencies: tuple = setting("BIGDATA_TICK_CURRENCIES", DEFAULT_CURRENCIES,
                                     "accepted ISO 4217 currency codes, comma-separated")

    # --- producer ----------------------------------------------------------------
    producer_source: str = setting("BIGDATA_PRODUCER_SOURCE", "synthetic", "synthetic, replay or live")
    producer_symbols: tuple = setting("BIGDATA_PRODUCER_SYMBOLS", DEFAULT_SYMBOLS,
                                      "symbols at start, comma-separated (replay: those with history)")
    producer_rate: float = setting("BIGDATA_PRODUCER_RATE", 1000.0,
                                   "synthetic ticks per second over all symbols; 0 = as fast as possible")
    producer_seed: int = setting("BIGDATA_PRODUCER_SEED", 42, "seed of the synthetic random walks")
    producer_currency: str = setting("BIGDATA_PRODUCER_CURRENCY", "USD", "currency of the produced ticks")
    producer_max_ticks: int = setting("BIGDATA_PRODUCER_MAX_TICKS", 0,
                                      "stop (flush, exit 0) after this many ticks; 0 = never")
    producer_run_id: str | None = setting("BIGDATA_PRODUCER_RUN_ID", None,
                                          "run id inside every tick id; unset: a random one per start")
    producer_linger_ms: int = setting("BIGDATA_PRODUCER_LINGER_MS", 5, "Kafka linger.ms of the producer")
    replay_speed: float = setting("BIGDATA_REPLAY_SPEED", 10.0, "replay: trading days per second")
    replay_loop: bool = setting("BIGDATA_REPLAY_LOOP", True, "replay: start again at the end of the history")
    live_interval_s: float = setting("BIGDATA_LIVE_INTERVAL_S", 5.0, "live: seconds between quotes per symbol")
    live_timeout_s: float = setting("BIGDATA_LIVE_TIMEOUT_S", 10.0, "live: time allowed for one quote request")

    # --- storage writer ----------------------------------------------------------
    writer_group: str = setting("BIGDATA_WRITER_GROUP", names.WRITER_GROUP, "the writer's Kafka consumer group")
    writer_batch: int = setting("BIGDATA_WRITER_BATCH", 5000, "records per batch (one commit per batch)")
    writer_concurrency: int = setting("BIGDATA_WRITER_CONCURRENCY", 64, "Cassandra writes in flight at most")
    writer_rows_per_batch: int = setting("BIGDATA_WRITER_ROWS_PER_BATCH", 100,
                                         "rows of one (symbol, day) partition per unlogged batch write")
    writer_dedup_cache: int = setting("BIGDATA_WRITER_DEDUP_CACHE", 200000,
                                      "recent tick ids remembered to recognise duplicates")

    # --- Redis publisher ---------------------------------------------------------
    publisher_group: str = setting("BIGDATA_PUBLISHER_GROUP", names.PUBLISHER_GROUP, "the publisher's consumer group")
    publisher_batch: int = setting("BIGDATA_PUBLISHER_BATCH", 500, "records per batch (one commit per batch)")

    # --- live lane -----------------------------------------------------------------
    lane_group: str = setting("BIGDATA_LANE_GROUP", names.LIVE_GROUP, "the live lane's consumer group")
    lane_windows: tuple = setting("BIGDATA_LANE_WINDOWS", ("1s", "1m"),
                                  "windows the live lane keeps open per symbol, comma-separated labels "
                                  "(as BIGDATA_STREAM_WINDOWS)")
    lane_interval_ms: int = setting("BIGDATA_LANE_INTERVAL_MS", 50,
                                    "how often the changed windows are published (conflated): at most one "
                                    "record per symbol and window per interval")
    lane_watermark_s: float = setting("BIGDATA_LANE_WATERMARK_S", 10.0,
                                      "how long a window stays open after newer trades (as the stream "
                                      "processor's watermark)")
    lane_fetch_wait_ms: int = setting("BIGDATA_LANE_FETCH_WAIT_MS", 10,
                                      "Kafka fetch.wait.max.ms of the live lane: how long a fetch waits for data")

    # --- dashboard ---------------------------------------------------------------
    dashboard_symbols: tuple = setting("BIGDATA_DASHBOARD_SYMBOLS", DEFAULT_SYMBOLS[:4],
                                       "symbols a new page shows, comma-separated (the page can add and remove)")
    dashboard_history_minutes: int = setting("BIGDATA_DASHBOARD_HISTORY_MINUTES", 120,
                                             "minutes of 1-minute candles a page gets from Cassandra on open")
    dashboard_history_max_ticks: int = setting("BIGDATA_DASHBOARD_HISTORY_MAX_TICKS", 200000,
                                               "ticks read from Cassandra at most per symbol for that history "
                                               "(the newest; bounds one page open's cost)")
    producer_url: str | None = setting("BIGDATA_PRODUCER_URL", None,
                                       "the producer's HTTP endpoint (e.g. http://bigdata:8010); set: a symbol "
                                       "added on the dashboard is also added to the producer (POST /<symbol>)")

    # ------------------------------------------------------------------------------
    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides) -> "Settings":
        environ = os.environ if environ is None else environ
        values = {}
        for f in fields(cls):
            raw = environ.get(f.metadata["env"])
            if (raw is None or not raw.strip()) and f.metadata["secret"] and environ.get(f.metadata["env"] + "_FILE"):
                raw = _read_secret_file(f.metadata["env"] + "_FILE", environ[f.metadata["env"] + "_FILE"])
            if raw is not None and raw.strip() != "":
                values[f.name] = _parse(f, raw.strip())
        settings = cls(**{**values, **overrides})
        settings.check()
        return settings

    def check(self) -> None:
        """Bounds that a type alone does not say."""
        problems = []
        positive = ("kafka_session_timeout_ms", "cassandra_port", "redis_port", "tick_max_bytes",
                    "writer_batch", "writer_concurrency", "writer_rows_per_batch", "publisher_batch", "replay_speed",
                    "lane_interval_ms", "lane_watermark_s", "lane_fetch_wait_ms",
                    "live_interval_s", "live_timeout_s", "dashboard_history_minutes",
                    "dashboard_history_max_ticks")
        for name in positive:
            if getattr(self, name) <= 0:
                problems.append((name, "must be greater than 0"))
        for name in ("producer_rate", "producer_max_ticks", "tick_max_future_s", "tick_max_past_s",
                     "writer_dedup_cache", "producer_linger_ms"):
            if getattr(self, name) < 0:
                problems.append((name, "must not be negative"))
        if self.producer_source not in ("synthetic", "replay", "live"):
            problems.append(("producer_source", "must be synthetic, replay or live"))
        if self.kafka_auto_offset_reset not in ("earliest", "latest"):
            problems.append(("kafka_auto_offset_reset", "must be earliest or latest"))
        if self.producer_currency not in self.tick_currencies:
            problems.append(("producer_currency", f"{self.producer_currency!r} is not in BIGDATA_TICK_CURRENCIES"))
        from services.core.analytics import WINDOW_PATTERN
        if not self.lane_windows or not all(WINDOW_PATTERN.match(label) for label in self.lane_windows):
            problems.append(("lane_windows", "window labels, e.g. 1s,1m"))
        if self.http_port is not None and not 0 <= self.http_port <= 65535:
            problems.append(("http_port", "must be a port number"))
        if problems:
            raise SettingError("; ".join(f"{env_name(n)}: {why}" for n, why in problems))

    def require(self, name: str) -> str:
        """A secret's value, or an error naming its variable."""
        value = getattr(self, name)
        if not value:
            raise SettingError(f"{env_name(name)} is not set (a secret: set it in the service's environment)")
        return value

    def port_for(self, default: int, environ: Mapping[str, str] | None = None) -> int:
        """The HTTP port: BIGDATA_HTTP_PORT, else Marathon's $PORT0, else the service's default."""
        if self.http_port is not None:
            return self.http_port
        port0 = (os.environ if environ is None else environ).get("PORT0")
        return int(port0) if port0 and port0.isdigit() else default

    def public(self) -> dict:
        """The settings without secrets (logged at start)."""
        return {f.name: ("***" if f.metadata["secret"] and getattr(self, f.name) else getattr(self, f.name))
                for f in fields(self)}

    def replace(self, **changes) -> "Settings":
        return dataclasses.replace(self, **changes)


def env_name(field_name: str) -> str:
    return {f.name: f.metadata["env"] for f in fields(Settings)}[field_name]


def describe() -> list[tuple[str, str, str]]:
    """(variable, default, what it does) for every setting."""
    rows = []
    for f in fields(Settings):
        default = f.default
        if isinstance(default, tuple):
            default = ",".join(default)
        rows.append((f.metadata["env"], "" if default is None else str(default), f.metadata["doc"]))
    return rows


def _parse(f, raw: str):
    kind = f.type if isinstance(f.type, str) else getattr(f.type, "__name__", str(f.type))
    env = f.metadata["env"]
    try:
        if kind.startswith("int"):
            return int(raw)
        if kind.startswith("float"):
            return float(raw)
        if kind.startswith("bool"):
            lowered = raw.lower()
            if lowered in ("1", "true", "yes", "on"):
                return True
            if lowered in ("0", "false", "no", "off"):
                return False
            raise ValueError(f"not a boolean: {raw!r}")
        if kind.startswith("tuple"):
            return tuple(item.strip() for item in raw.split(",") if item.strip())
        return raw
    except ValueError as error:
        raise SettingError(f"{env}: {error}") from None

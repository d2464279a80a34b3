"""Every setting of the pipeline's services: one environment variable each, BIGDATA_
and the field's name in capitals (two have their own name), with its documented
default and bounds (pydantic-settings). `Settings.from_env()` reads them;
`describe()` lists them (services/README.md documents the same list, and a unit test
keeps the two in step). A blank variable counts as unset; a list is comma-separated.

Secrets (passwords) have no default: a client factory that needs one fails with
the variable's name when it is missing. A secret is read from its variable, or from
the file its `<variable>_FILE` names (where Swarm mounts its secrets, /run/secrets/...),
so that its value never sits in the container's environment.
"""
from __future__ import annotations

import os
from typing import Annotated, Literal, Mapping

from pydantic import AfterValidator, BeforeValidator, Field, SecretStr, ValidationError, ValidationInfo, \
    field_validator
from pydantic_settings import BaseSettings, EnvSettingsSource, NoDecode, SettingsConfigDict

from shared import names

PREFIX = "BIGDATA_"

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


def _split(value):
    return tuple(item.strip() for item in value.split(",") if item.strip()) if isinstance(value, str) else value


def _window_labels(labels: tuple[str, ...]) -> tuple[str, ...]:
    from services.core.analytics import WINDOW_PATTERN
    for label in labels:
        if not WINDOW_PATTERN.match(label):
            raise ValueError(f"{label!r} is not a window label (e.g. 1s, 1m, 500ms)")
    if not labels:
        raise ValueError("at least one window")
    return labels


# comma-separated items (not JSON, as pydantic-settings reads a list by default)
Csv = Annotated[tuple[str, ...], NoDecode, BeforeValidator(_split)]
# window labels: digits then ms, s, m or h
Windows = Annotated[Csv, AfterValidator(_window_labels)]


class _Environment(EnvSettingsSource):
    """The variables of `environ` (blank ones unset, values stripped, names lower-cased as
    pydantic-settings matches them); a password also from the file its `<variable>_FILE`
    names, when the variable itself is unset."""

    def __init__(self, settings_cls: type[Settings], environ: Mapping[str, str]):
        self.environ = environ
        super().__init__(settings_cls)

    def _load_env_vars(self) -> dict[str, str]:
        values = {name.lower(): value.strip() for name, value in self.environ.items() if value.strip()}
        for name, field in self.settings_cls.model_fields.items():
            variable = self.settings_cls.variable(name)
            path = values.get(f"{variable}_FILE".lower())
            if field.annotation == SecretStr | None and variable.lower() not in values and path:
                values[variable.lower()] = _read_secret_file(f"{variable}_FILE", path)
        return values


def _read_secret_file(variable: str, path: str) -> str:
    try:
        with open(path) as secret_file:
            return secret_file.read().rstrip("\r\n")
    except OSError as error:
        raise SettingError(f"{variable}={path}: cannot be read ({error.strerror})") from None


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix=PREFIX, frozen=True, validate_by_name=True)

    # --- Kafka -------------------------------------------------------------------
    kafka_bootstrap: str = Field("bigdata:9092", description="Kafka bootstrap servers, comma-separated host:port")
    kafka_user: str | None = Field(None, description="Kafka SASL user: the service's own, which its ACLs allow "
                                                    "exactly its topics and groups (the platform names it in each "
                                                    "app definition); required")
    kafka_password: SecretStr | None = Field(None, description="Kafka SASL password of that user (secret, required)")
    kafka_security_protocol: Literal["SASL_PLAINTEXT", "SASL_SSL"] = Field(
        "SASL_PLAINTEXT", description="Kafka security.protocol; SASL_SSL checks the brokers' certificates against "
                                      "BIGDATA_TLS_CA_FILE and their names (the platform sets it when tls_enabled)")
    kafka_sasl_mechanism: str = Field("SCRAM-SHA-512", description="Kafka sasl.mechanism")
    kafka_session_timeout_ms: int = Field(10000, gt=0,
                                          description="consumer group session timeout: how soon a killed consumer's "
                                                      "partitions move to another (or its restart)")
    kafka_auto_offset_reset: Literal["earliest", "latest"] = Field(
        "earliest", description="where a new consumer group starts: earliest or latest")

    # --- Cassandra ---------------------------------------------------------------
    cassandra_hosts: Csv = Field(("bigdata",), description="Cassandra contact points, comma-separated")
    cassandra_port: int = Field(9042, gt=0, description="Cassandra native transport port")
    cassandra_user: str | None = Field(None, description="Cassandra login role: the service's own, allowed exactly "
                                                         "its work on the ticks table (the platform names it in each "
                                                         "app definition); required")
    cassandra_password: SecretStr | None = Field(None, description="Cassandra password (secret, required)")
    cassandra_dc: str = Field("dc1", description="the local data center (load balancing)")
    cassandra_consistency: str = Field("LOCAL_QUORUM", description="consistency level of the writer's inserts")
    cassandra_tls: bool = Field(False, description="Cassandra over TLS, the nodes' certificates checked against "
                                                   "BIGDATA_TLS_CA_FILE and their addresses")

    # --- Redis -------------------------------------------------------------------
    redis_host: str = Field("bigdata", description="Redis host")
    redis_port: int = Field(6379, gt=0, description="Redis port")
    redis_user: str | None = Field(None, description="Redis ACL user (the platform gives each service its own); "
                                                     "unset: Redis's default user")
    redis_password: SecretStr | None = Field(None, description="Redis password of that user (secret, required)")
    redis_tls: bool = Field(False, description="Redis over TLS, its certificate checked against "
                                               "BIGDATA_TLS_CA_FILE and the host name")

    # --- TLS -----------------------------------------------------------------------
    tls_ca_file: str | None = Field(None, description="the platform's CA certificate (PEM) that the backends' "
                                                      "certificates are checked against (required with TLS on)")

    # --- every service -----------------------------------------------------------
    http_host: str = Field("0.0.0.0", description="address of the HTTP endpoint (/health)")
    http_port: int | None = Field(None, ge=0, le=65535,
                                  description="port of the HTTP endpoint; unset: $PORT0 (Marathon), else the "
                                              "service's own (producer 8010, storage writer 8011, publisher 8012, "
                                              "dashboard 8050)")
    http_timeout_s: float = Field(10.0, gt=0, description="a client that sends nothing for this long is dropped "
                                                           "(a slow client never holds a connection for long)")
    http_max_connections: int = Field(32, gt=0, description="connections served at once; more get 503 at once")
    lag_limit: int = Field(10000, gt=0, description="a consumer (writer, publisher) this many records behind its "
                                                    "topic's end for longer than BIGDATA_LAG_GRACE_S is degraded")
    lag_grace_s: float = Field(60.0, gt=0, description="how long a consumer may stay over BIGDATA_LAG_LIMIT before "
                                                       "its /health says degraded, with the lag")
    log_level: str = Field("INFO", description="DEBUG, INFO, WARNING or ERROR")

    # --- the tick contract (validation) -------------------------------------------
    tick_max_bytes: int = Field(1024, gt=0, description="largest tick message accepted (bytes)")
    tick_max_future_s: int = Field(300, ge=0,
                                   description="how far a trade time may lie after the record's timestamp")
    tick_max_past_s: int = Field(7 * 86400, ge=0,
                                 description="how far a trade time may lie before the record's timestamp")
    tick_currencies: Csv = Field(DEFAULT_CURRENCIES, description="accepted ISO 4217 currency codes, comma-separated")

    # --- producer ----------------------------------------------------------------
    producer_source: Literal["synthetic", "replay", "live"] = Field("synthetic",
                                                                    description="synthetic, replay or live")
    producer_token: SecretStr | None = Field(None, description="the token of the control requests (POST and "
                                                               "DELETE /<symbol>, `Authorization: Bearer <token>`; "
                                                               "secret, required by the producer, and by the "
                                                               "dashboard when it names the producer)")
    producer_max_symbols: int = Field(100, gt=0, description="symbols produced at most (a POST beyond is refused)")
    producer_symbols: Csv = Field(DEFAULT_SYMBOLS,
                                  description="symbols at start, comma-separated (replay: those with history)")
    producer_rate: float = Field(1000.0, ge=0,
                                 description="synthetic ticks per second over all symbols; 0 = as fast as possible")
    producer_seed: int = Field(42, description="seed of the synthetic random walks")
    producer_currency: str = Field("USD", description="currency of the produced ticks")
    producer_max_ticks: int = Field(0, ge=0, description="stop (flush, exit 0) after this many ticks; 0 = never")
    producer_run_id: str | None = Field(None,
                                        description="run id inside every tick id; unset: a random one per start")
    producer_linger_ms: int = Field(5, ge=0, description="Kafka linger.ms of the producer")
    replay_speed: float = Field(10.0, gt=0, description="replay: trading days per second")
    replay_loop: bool = Field(True, description="replay: start again at the end of the history")
    live_interval_s: float = Field(5.0, gt=0, description="live: seconds between quotes per symbol")
    live_timeout_s: float = Field(10.0, gt=0, description="live: time allowed for one quote request")

    # --- storage writer ----------------------------------------------------------
    writer_group: str = Field(names.WRITER_GROUP, description="the writer's Kafka consumer group")
    writer_batch: int = Field(5000, gt=0, description="records per batch (one commit per batch)")
    writer_concurrency: int = Field(64, gt=0, description="Cassandra writes in flight at most")
    writer_rows_per_batch: int = Field(100, gt=0,
                                       description="rows of one (symbol, day) partition per unlogged batch write")
    writer_dedup_cache: int = Field(200000, ge=0,
                                    description="recent tick ids remembered to recognise duplicates")

    # --- Redis publisher ---------------------------------------------------------
    publisher_group: str = Field(names.PUBLISHER_GROUP, description="the publisher's consumer group")
    publisher_batch: int = Field(500, gt=0, description="records per batch (one commit per batch)")

    # --- live lane -----------------------------------------------------------------
    lane_group: str = Field(names.LIVE_GROUP, description="the live lane's consumer group")
    lane_windows: Windows = Field(("1s", "1m"),
                                  description="windows the live lane keeps open per symbol, comma-separated labels "
                                              "(as BIGDATA_STREAM_WINDOWS)")
    lane_interval_ms: int = Field(50, gt=0,
                                  description="how often the changed windows are published (conflated): at most one "
                                              "record per symbol and window per interval")
    lane_watermark_s: float = Field(10.0, gt=0,
                                    description="how long a window stays open after newer trades (as the stream "
                                                "processor's watermark)")
    lane_fetch_wait_ms: int = Field(10, gt=0, description="Kafka fetch.wait.max.ms of the live lane: how long a "
                                                          "fetch waits for data")

    # --- dashboard ---------------------------------------------------------------
    dashboard_symbols: Csv = Field(DEFAULT_SYMBOLS[:4], description="symbols a new page shows, comma-separated "
                                                                    "(the page can add and remove)")
    dashboard_history_minutes: int = Field(120, gt=0, description="minutes of 1-minute candles a page gets from "
                                                                  "Cassandra on open")
    dashboard_history_max_ticks: int = Field(200000, gt=0,
                                             description="ticks read from Cassandra at most per symbol for that "
                                                         "history (the newest; bounds one page open's cost)")
    dashboard_max_symbols: int = Field(20, gt=0, description="symbols one page may show at once (a subscribe beyond "
                                                             "is refused)")
    dashboard_snapshots_per_minute: int = Field(30, gt=0,
                                                description="symbol snapshots (each reads history from Cassandra) one "
                                                            "page may ask for per minute; beyond, refused until the "
                                                            "minute has passed")
    dashboard_allowed_origins: Csv = Field((), description="origins (scheme://host[:port]) whose pages may connect "
                                                           "besides the dashboard's own, comma-separated (e.g. a "
                                                           "proxy's); unset: its own origin only")
    dashboard_login_user: str = Field("viewer", min_length=1, description="the dashboard login's user name")
    dashboard_password: SecretStr | None = Field(
        None, description="the dashboard login's password (secret): set, every page, file and Socket.IO connection "
                          "asks for it (HTTP basic auth; /health stays open to the orchestrator); unset: no login "
                          "(`./bigdata up` serves 127.0.0.1 only)")
    dashboard_tls_cert: str | None = Field(None, description="HTTPS: the dashboard's certificate (PEM file; with "
                                                             "BIGDATA_DASHBOARD_TLS_KEY); unset: plain HTTP")
    dashboard_tls_key: str | None = Field(None, description="HTTPS: the certificate's private key (PEM file)")
    producer_url: str | None = Field(None, description="the producer's HTTP endpoint (e.g. http://bigdata:8010); set: "
                                                       "a symbol added on the dashboard is also added to the producer "
                                                       "(POST /<symbol>, with BIGDATA_PRODUCER_TOKEN)")

    # ------------------------------------------------------------------------------
    @field_validator("producer_currency")
    @classmethod
    def _a_tick_currency(cls, currency: str, info: ValidationInfo) -> str:
        if currency not in info.data.get("tick_currencies", (currency,)):
            raise ValueError(f"{currency!r} is not in BIGDATA_TICK_CURRENCIES")
        return currency

    @classmethod
    def settings_customise_sources(cls, settings_cls, init_settings, env_settings, dotenv_settings,
                                   file_secret_settings):
        return init_settings, _Environment(settings_cls, os.environ)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None):
        """The settings from `environ` (default: the process's), or a SettingError naming
        every variable whose value cannot be used."""
        source = _Environment(cls, os.environ if environ is None else environ)
        try:
            return cls(_build_sources=((source,), {}))
        except ValidationError as error:
            raise SettingError("; ".join(f"{cls.variable(str(problem['loc'][0]))}: {_why(problem)}"
                                         for problem in error.errors())) from None

    @classmethod
    def variable(cls, name: str) -> str:
        """The environment variable of field `name` (or of the variable itself)."""
        field = cls.model_fields.get(name)
        if field is None:
            return name
        return field.validation_alias or PREFIX + name.upper()

    def require(self, name: str) -> str:
        """A required setting's value (a secret's, unwrapped), or an error naming its variable."""
        value = getattr(self, name)
        if not value:
            what = "a secret: " if type(self).model_fields[name].annotation == SecretStr | None else ""
            raise SettingError(f"{self.variable(name)} is not set ({what}set it in the service's environment)")
        return value.get_secret_value() if isinstance(value, SecretStr) else value

    def require_file(self, name: str) -> str:
        """A setting naming a readable file, or an error naming its variable."""
        path = getattr(self, name)
        if not path:
            raise SettingError(f"{self.variable(name)} is not set (the TLS settings need it)")
        if not os.access(path, os.R_OK):
            raise SettingError(f"{self.variable(name)}={path}: not a readable file")
        return path

    def kafka_tls(self) -> bool:
        return self.kafka_security_protocol == "SASL_SSL"

    def tls_ca_pem(self) -> str:
        """The CA's certificate itself (PEM), for clients given it inline (Spark's executors)."""
        with open(self.require_file("tls_ca_file")) as ca:
            return ca.read()

    def port_for(self, default: int, environ: Mapping[str, str] | None = None) -> int:
        """The HTTP port: BIGDATA_HTTP_PORT, else Marathon's $PORT0, else the service's default."""
        if self.http_port is not None:
            return self.http_port
        port0 = (os.environ if environ is None else environ).get("PORT0")
        return int(port0) if port0 and port0.isdigit() else default

    def public(self) -> dict:
        """The settings without secrets (logged at start)."""
        return {name: ("***" if isinstance(value, SecretStr) else value) for name, value in self}

    def replace(self, **changes) -> Settings:
        return self.model_copy(update=changes)


def _why(problem: dict) -> str:
    """pydantic's reason, said as a rule: "must be greater than 0"."""
    if problem["type"] == "value_error":
        return str(problem["ctx"]["error"])
    return problem["msg"].replace("Input should be", "must be", 1)


def describe(model: type[Settings] = Settings, skip: type[Settings] | None = None) -> list[tuple[str, str, str]]:
    """(variable, default, what it does) for every setting of `model` (not those of `skip`)."""
    rows = []
    for name, field in model.model_fields.items():
        if skip is not None and name in skip.model_fields:
            continue
        default = ",".join(field.default) if isinstance(field.default, tuple) else field.default
        rows.append((model.variable(name), "" if default is None else str(default), field.description))
    return rows

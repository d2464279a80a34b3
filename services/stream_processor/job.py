"""The Spark Structured Streaming job (see the package's docstring). Runs as
`python -m services.stream_processor` (this process is the driver; pyspark comes
from BIGDATA_SPARK_HOME's python/lib) or under `spark-submit` (then pyspark is
already importable and the session exists)."""
from __future__ import annotations

import importlib.util
import json
import logging
import os
import sys
import tempfile
import threading
import time
from collections import deque
from datetime import datetime, timezone
from pathlib import Path

if __name__ == "__main__" and not __package__:  # spark-submit services/stream_processor/job.py
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from shared import names
from services.core.service import Service
from services.core.settings import SettingError
from services.core.tick import Rules
from services.stream_processor import SERVICE, checkpoint, kafka_options, query_progress, spark_conf, tick_sql
from services.core.analytics import window_ms
from services.stream_processor.settings import DEFAULT_PORT, StreamSettings

SERVICE = SERVICE
# what Spark's withWatermark() and window() mark the event-time column with (EventTimeWatermark.delayKey)
WATERMARK_KEY = "spark.watermarkDelayMs"


def load_settings() -> StreamSettings | None:
    try:
        settings = StreamSettings.from_env()
        settings.require("kafka_user"), settings.require("kafka_password")
        if not (Path(settings.spark_home) / "python" / "lib" / "pyspark.zip").is_file():
            raise SettingError(f"BIGDATA_SPARK_HOME: {settings.spark_home} holds no Spark distribution "
                               f"(python/lib/pyspark.zip is missing)")
        return settings
    except SettingError as error:
        print(json.dumps({"ts": datetime.now(timezone.utc).isoformat(timespec="milliseconds"), "level": "error",
                          "service": SERVICE, "event": "bad_settings", "error": str(error)}), flush=True)
        return None


def import_pyspark(spark_home: str) -> None:
    """pyspark and py4j from the distribution, unless already importable (spark-submit)."""
    os.environ.setdefault("SPARK_HOME", spark_home)
    if importlib.util.find_spec("pyspark") is None:
        for path in reversed(spark_conf.pyspark_paths(spark_home)):
            sys.path.insert(0, path)
    os.environ.setdefault("PYSPARK_PYTHON", "python3")


# --- the query ------------------------------------------------------------------------------

def build(spark, settings: StreamSettings, rules: Rules):
    """The one streaming DataFrame: analytics records of every window, as rows (topic,
    key, value) for Spark's Kafka sink.

        Kafka (one scan) -> the SQL check (tick_sql.fast_path_sql): refused records counted
          -> ticks: watermark, deduplicated by id within it, a row per (tick, window length)
          -> one aggregation per (symbol, window length, window) -> analytics records

    No Python runs per record (executors run no Python at all)."""
    from pyspark.sql import functions as F

    records = spark.readStream.format("kafka").options(**kafka_options.source_options(settings)).load()
    for column, sql in tick_sql.fast_path_sql(rules).items():
        records = records.withColumn(column, F.expr(sql))
    ticks = (records.observe(query_progress.REFUSED_METRICS, F.count_if(~F.col("fast_ok")).alias("refused"))
             .where("fast_ok").select("id", "symbol", "price", "trade_time", "volume", "offset"))

    delay_ms = int(settings.stream_watermark_s * 1000)
    ticks = (ticks.withColumn("event_time", F.timestamp_millis("trade_time"))
             .withWatermark("event_time", f"{delay_ms} milliseconds"))
    if settings.stream_deduplicate:
        ticks = ticks.dropDuplicatesWithinWatermark(["id"])

    # Every window length in one aggregation (one shuffle, one state store): each tick becomes a
    # row per length, keyed by its window. window() takes one fixed length, so the window's end
    # is computed here and marked as the event-time column of the key, as window() marks its
    # own: Spark then drops a window's state once the watermark passes its end, and a tick
    # that comes later than that is dropped as late (counted).
    lengths = F.array(*[F.struct(F.lit(label).alias("label"), F.lit(window_ms(label)).alias("ms"))
                        for label in settings.stream_windows])
    trade_ms = F.col("trade_time")
    starts = trade_ms - F.pmod(trade_ms, F.col("w.ms"))
    exploded = ticks.select("symbol", "price", "trade_time", "volume", "offset", F.explode(lengths).alias("w"))
    keyed = exploded.select(
        "symbol", "price", "trade_time", "volume", "offset", F.col("w.label").alias("label"),
        starts.alias("window_start"),
        F.timestamp_millis(starts + F.col("w.ms")).alias("window_end", metadata={WATERMARK_KEY: delay_ms}))
    # open and close by trade time; equal trade times in log order (a symbol's ticks share a partition)
    order = F.struct("trade_time", "offset")
    windows = (keyed.groupBy("symbol", "label", "window_start", "window_end")
               .agg(F.min_by("price", order).alias("open"), F.max("price").alias("high"),
                    F.min("price").alias("low"), F.max_by("price", order).alias("close"),
                    F.avg("price").alias("average"),
                    F.sum(F.col("price") * F.col("volume").cast("double")).alias("turnover"),
                    F.sum(F.col("volume").cast("double")).alias("volume_d"),
                    # a long sum: NULL, not an error that stops the job, if absurd volumes overflow
                    # it (a decimal(38) sum would be exact, but it is a Java object a row)
                    F.try_sum("volume").alias("volume"),
                    F.count(F.lit(1)).alias("count"), F.max("trade_time").alias("last_trade_time")))
    record = F.struct(
        "symbol", F.col("label").alias("window"), "window_start",
        F.unix_millis("window_end").alias("window_end"),
        "open", "high", "low", "close", "average",
        # VWAP; a window whose ticks all had volume 0 has none: its average stands in
        F.when(F.col("volume_d") > 0, F.col("turnover") / F.col("volume_d"))
         .otherwise(F.col("average")).alias("vwap"),
        F.coalesce("volume", F.lit(2**63 - 1)).alias("volume"),  # overflowed: the largest volume there is
        "count", "last_trade_time")
    return windows.select(F.lit(names.ANALYTICS_TOPIC).alias("topic"), F.col("symbol").cast("binary").alias("key"),
                          F.to_json(record).cast("binary").alias("value"))


def start_query(spark, settings: StreamSettings, rules: Rules):
    writer = (build(spark, settings, rules).writeStream.format("kafka")
              .options(**kafka_options.sink_options(settings))
              .option("checkpointLocation", settings.stream_checkpoint)
              .outputMode("update").queryName(SERVICE.replace("-", "_")))
    if settings.stream_trigger_ms:
        writer = writer.trigger(processingTime=f"{settings.stream_trigger_ms} milliseconds")
    return writer.start()


# --- the driver -------------------------------------------------------------------------------

class Driver:
    def __init__(self, service: Service, settings: StreamSettings):
        self.service = service
        self.settings = settings
        self.query = None
        self.query_started = time.time()
        self.seen: deque = deque(maxlen=1000)  # progress reports already counted: (run id, time)
        self.last_progress: dict | None = None
        self.query_starts = 0
        self.explained = None  # the run whose plan was logged
        service.details = self.details

    def details(self) -> dict:
        query = self.query
        body = {"checkpoint": self.settings.stream_checkpoint, "windows": list(self.settings.stream_windows),
                "query_starts": self.query_starts, "last_batch": query_progress.progress_summary(self.last_progress)}
        if query is not None:
            try:
                status = query.status
                body["query"] = {"id": str(query.id), "run_id": str(query.runId), "active": query.isActive,
                                 "message": status.get("message"), "trigger_active": status.get("isTriggerActive"),
                                 "data_available": status.get("isDataAvailable")}
            except Exception as error:  # the JVM going away while asked
                body["query"] = {"error": str(error)[:200]}
        return body

    def collect_progress(self) -> None:
        """Batches reported since the last look: counters and a log line each."""
        for raw in self.query.recentProgress:
            progress = query_progress.as_dict(raw)
            mark = (progress.get("runId"), progress.get("timestamp"))
            if mark in self.seen:
                continue
            self.seen.append(mark)
            if "addBatch" not in (progress.get("durationMs") or {}):
                continue  # an idle report: no batch ran
            self.last_progress = progress
            for name, amount in query_progress.batch_counts(progress).items():
                self.service.count(name, amount)
            if progress.get("numInputRows"):
                self.service.log.info("batch", extra=query_progress.log_fields(progress))
                if self.explained != progress.get("runId"):  # the plan Spark runs, once per run
                    self.explained = progress.get("runId")
                    self.log_plan()

    def log_plan(self) -> None:
        """The physical plan of the last micro-batch (what bench/spark_plan.md reads)."""
        try:
            self.service.log.info("physical_plan", extra={"plan": self.query._jsq.explainInternal(False)})
        except Exception as error:  # the query going away meanwhile
            self.service.log.warning("physical_plan_unavailable", extra={"error": str(error)[:300]})

    def watch(self) -> None:
        """Health from the query: running once a batch of the current run is done; degraded
        while a batch runs longer than BIGDATA_STREAM_STALL_S (e.g. Kafka unreachable: no
        offsets) and, after a failure, until the restarted query has done a batch."""
        status = self.query.status
        done_in_run = self.last_progress is not None and self.last_progress.get("runId") == str(self.query.runId)
        if done_in_run:
            idle_since = _epoch(self.last_progress.get("timestamp")) + (
                self.last_progress.get("batchDuration") or 0) / 1000
        else:
            idle_since = self.query_started
        busy = time.time() - idle_since
        if status.get("isTriggerActive") and busy > self.settings.stream_stall_s:
            self.service.healthy(f"micro-batch running for {busy:.0f}s: {status.get('message')}")
        elif done_in_run:
            self.service.healthy()

    def stop_query(self) -> None:
        """Let the batch in hand finish (up to the stop timeout), then stop the query."""
        query, deadline = self.query, time.monotonic() + self.settings.stream_stop_timeout_s
        try:
            while query.isActive and query.status.get("isTriggerActive") and time.monotonic() < deadline:
                time.sleep(0.1)
            query.stop()
            self.collect_progress()
        except Exception as error:
            self.service.log.warning("stop_failed", extra={"error": str(error)[:500]})

    def run(self, spark, rules: Rules) -> int:
        service, backoff = self.service, 1.0
        while not service.stopping.is_set():
            if spark.sparkContext._jsc.sc().isStopped():
                # e.g. the master gave up on us: only a new driver gets a new application
                service.log.error("spark_context_stopped", extra={"note": "exiting: a restart makes a new one"})
                return 1
            try:
                self.query_started = time.time()
                self.query = start_query(spark, self.settings, rules)
                self.query_starts += 1
                service.log.info("query_started", extra={"query_id": str(self.query.id),
                                                         "run_id": str(self.query.runId)})
            except Exception as error:
                service.healthy(f"query does not start: {str(error)[:300]}")
                service.log.warning("query_start_failed", extra={"error": str(error)[:2000], "retry_in_s": backoff})
                if service.wait(backoff):
                    break
                backoff = min(backoff * 2, 30)
                continue
            while not service.stopping.is_set() and self.query.isActive:
                self.collect_progress()
                self.watch()
                service.wait(0.5)
            if service.stopping.is_set():
                self.stop_query()
                break
            # the query died (e.g. Kafka unreachable for longer than the client retries): start it
            # again from its checkpoint after a pause; nothing is lost, a batch at most repeated
            error = self.query.exception()
            self.collect_progress()
            service.count("query_failures")
            service.healthy(f"query failed, restarting from the checkpoint: {str(error)[:300]}")
            service.log.warning("query_failed", extra={"error": str(error)[:4000], "retry_in_s": backoff})
            if service.wait(backoff):
                break
            backoff = min(backoff * 2, 30)
        return 0


def _epoch(iso: str | None) -> float:
    if not iso:
        return time.time()
    return datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp()


def session(settings: StreamSettings, workdir: Path):
    from pyspark.sql import SparkSession
    defaults = spark_conf.read_spark_defaults(settings.spark_home)
    conf = spark_conf.spark_conf(settings, defaults, os.cpu_count() or 1)
    log_config = workdir / "log4j2.properties"
    log_config.write_text(spark_conf.log4j2_properties(settings.log_level))
    conf["spark.driver.extraJavaOptions"] = spark_conf.driver_java_options({**defaults, **conf}, log_config)
    builder = SparkSession.builder
    for key, value in conf.items():
        builder = builder.config(key, value)
    return builder.getOrCreate()


def checkpoint_refusal(spark, location: str) -> str | None:
    """Why the checkpoint cannot be resumed (another layout: checkpoint.CHECKPOINT_REFUSAL), or
    None; a new checkpoint directory is marked with this job's layout. Through Hadoop's
    file system API, so any location Spark can checkpoint to (a path, hdfs://, ...) works."""
    jvm = spark.sparkContext._jvm
    conf = spark.sparkContext._jsc.hadoopConfiguration()
    directory = jvm.org.apache.hadoop.fs.Path(location)
    fs = directory.getFileSystem(conf)
    marker = jvm.org.apache.hadoop.fs.Path(directory, checkpoint.LAYOUT_MARKER)
    if fs.exists(marker):
        return None
    if fs.exists(directory) and len(fs.listStatus(directory)) > 0:
        return checkpoint.CHECKPOINT_REFUSAL.format(location=location)
    fs.mkdirs(directory)
    fs.create(marker, False).close()
    return None


def main() -> int:
    settings = load_settings()
    if settings is None:
        return 2
    service = Service(SERVICE, settings, DEFAULT_PORT)
    logging.getLogger("py4j").setLevel(logging.WARNING)  # otherwise a line per call into the JVM
    logging.captureWarnings(True)  # pyspark's warnings as JSON lines too
    service.start()
    import_pyspark(settings.spark_home)
    rules = Rules.from_settings(settings)
    with tempfile.TemporaryDirectory(prefix="stream-processor-") as workdir:
        try:
            spark = session(settings, Path(workdir))
        except Exception as error:
            service.log.error("spark_unavailable", extra={"error": str(error)[:2000]})
            return service.finish(1)
        service.log.info("spark_session", extra={
            "master": spark.sparkContext.master, "app_id": spark.sparkContext.applicationId,
            "spark_version": spark.version, "ui": spark.sparkContext.uiWebUrl,
            "shuffle_partitions": spark.conf.get("spark.sql.shuffle.partitions")})
        refusal = checkpoint_refusal(spark, settings.stream_checkpoint)
        if refusal:
            service.log.error("checkpoint_refused", extra={"error": refusal})
            spark.stop()
            return service.finish(2)
        driver = Driver(service, settings)
        code = driver.run(spark, rules)
        stopper = threading.Thread(target=spark.stop, daemon=True)
        stopper.start()
        stopper.join(30)
    return service.finish(code)


if __name__ == "__main__":
    sys.exit(main())

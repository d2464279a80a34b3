"""The stream processor: a Spark Structured Streaming job from the tick topic to
the analytics topic (services/README.md, "Stream processor").

    ticks (names.TICKS_TOPIC) --Spark's Kafka source (one scan), SASL/SCRAM as its own user-->
      the SQL check (tick_sql.py; no Python per record): refused records are counted, not
      dead-lettered (the storage writer owns the dead letters)
      --> ticks: deduplicated by id within the watermark
          --> per symbol, one tumbling event-time window per BIGDATA_STREAM_WINDOWS label (1s, 1m):
              open/close (min_by/max_by trade time), high, low, average, VWAP, volume, count,
              last trade time --> names.ANALYTICS_TOPIC (analytics.py's record, key = symbol)

State in RocksDB with changelog checkpointing. The checkpoint directory carries the
job's layout (checkpoint.CHECKPOINT_LAYOUT); one of another layout is refused (exit 2, one
line saying what to do), never resumed; the default directory's name carries the
layout, so an upgrade starts a new checkpoint (at BIGDATA_STREAM_STARTING_OFFSETS).

One query, update mode, checkpointed (BIGDATA_STREAM_CHECKPOINT): a restart, even
after kill -9, resumes from the last committed batch; the batch in flight is
computed again and its records written again (analytics updates are idempotent:
a window's newer record replaces the older).

`python -m services.stream_processor` is the driver itself (client mode, pyspark
from BIGDATA_SPARK_HOME); `--print-submit` prints the equivalent spark-submit.

Its parts: job.py (the query, with pyspark), settings.py, tick_sql.py (the SQL that
judges a record), kafka_options.py, spark_conf.py (the driver's Spark settings and its
spark-submit), checkpoint.py (the layout), query_progress.py (what a batch did).
"""
SERVICE = "stream-processor"

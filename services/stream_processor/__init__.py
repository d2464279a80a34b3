"""The stream processor: a Spark Structured Streaming job from the tick topic to
the analytics topic (services/README.md, "Stream processor").

    ticks (names.TICKS_TOPIC) --Spark's Kafka source, SASL/SCRAM as names.KAFKA_CLIENT_USER-->
      fast path (Spark SQL) / exact path (tick.validate() in a Python UDF, rare records only)
      --> ticks: deduplicated by id within the watermark
          --> per symbol, one tumbling event-time window per BIGDATA_STREAM_WINDOWS label (1s, 1m):
              open/close (min_by/max_by trade time), high, low, average, VWAP, volume, count,
              last trade time --> names.ANALYTICS_TOPIC (analytics.py's record, key = symbol)
      --> refused records: names.DEAD_LETTER_TOPIC (deadletter.py's envelope, reason in headers)

One query, update mode, checkpointed (BIGDATA_STREAM_CHECKPOINT): a restart, even
after kill -9, resumes from the last committed batch; the batch in flight is
computed again and its records written again (analytics updates are idempotent:
a window's newer record replaces the older).

`python -m services.stream_processor` is the driver itself (client mode, pyspark
from BIGDATA_SPARK_HOME); `--print-submit` prints the equivalent spark-submit.
"""

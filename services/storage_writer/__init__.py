"""The storage writer: ticks from Kafka into Cassandra, exactly once per tick id.

    python -m services.storage_writer

Reads `names.TICKS_TOPIC` in consumer group BIGDATA_WRITER_GROUP, validates each
record (services/core/tick.py), upserts the good ones with a prepared statement,
grouped by Cassandra partition (symbol, day) into unlogged batches of at most
BIGDATA_WRITER_ROWS_PER_BATCH rows, BIGDATA_WRITER_CONCURRENCY batches in flight
(a batch Cassandra refuses is written again row by row, so only the bad row is
dead-lettered), sends the bad ones to the dead-letter topic, and commits the
batch's offsets only after every write was acknowledged.
"""

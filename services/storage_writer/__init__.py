"""The storage writer: ticks from Kafka into Cassandra, exactly once per tick id.

    python -m services.storage_writer

Reads `names.TICKS_TOPIC` in consumer group BIGDATA_WRITER_GROUP, validates each
record (services/core/tick.py), upserts the good ones with a prepared statement at
most BIGDATA_WRITER_CONCURRENCY at a time, sends the bad ones to the dead-letter
topic, and commits the batch's offsets only after every insert was acknowledged.
"""

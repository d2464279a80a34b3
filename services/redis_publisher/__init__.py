"""The Redis publisher: analytics from Kafka to the dashboard's Redis.

    python -m services.redis_publisher

Reads `names.ANALYTICS_TOPIC` in consumer group BIGDATA_PUBLISHER_GROUP; each valid
record (services/core/analytics.py) is published on `names.ANALYTICS_CHANNEL` and
kept as the newest of its symbol and window in the hash
`names.LATEST_KEY_PREFIX + symbol` (field = the window label), for a page that has
just opened. Offsets are committed after Redis has taken the whole batch.
"""

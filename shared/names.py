"""The names every part of the platform agrees on. The deploys create these
(topics, keyspace, tables) and the services use them; nothing spells them twice."""

TICKS_TOPIC = "stock-ticks"            # key = symbol, value = a tick (JSON)
ANALYTICS_TOPIC = "stock-analytics"    # per-symbol windowed results from Spark
DEAD_LETTER_TOPIC = "stock-ticks-dlq"  # malformed records, with the reason

KEYSPACE = "stocks"
TICKS_TABLE = "ticks"

ANALYTICS_CHANNEL = "stock-analytics"  # Redis pub/sub channel the dashboard listens to
LATEST_KEY_PREFIX = "latest:"          # Redis hash per symbol with its latest analytics
# the live lane's provisional values of the open windows (never written over Spark's)
LIVE_CHANNEL = "stock-live"            # Redis pub/sub channel: provisional records, conflated
LIVE_KEY_PREFIX = "live:"              # Redis hash per symbol with its current provisional values

# Redis ACL users: the operator's (and the deploy's checks), and one per service, each
# allowed exactly its channels, keys and commands (deploys/redis)
REDIS_ADMIN_USER = "admin"
REDIS_PUBLISHER_USER = "publisher"     # the Redis publisher: Spark's records
REDIS_LIVE_LANE_USER = "live-lane"     # the live lane: provisional records
REDIS_DASHBOARD_USER = "dashboard"     # reads and subscribes only

# Kafka SCRAM users: the brokers' own (the super user); each service has its own
# (deploys/kafka/users.py), named in its app definition
KAFKA_ADMIN_USER = "admin"

# Kafka consumer groups of the pipeline's services (settings may override them per run)
WRITER_GROUP = "storage-writer"        # the storage writer (stock-ticks -> Cassandra)
PUBLISHER_GROUP = "redis-publisher"    # the Redis publisher (stock-analytics -> Redis)
LIVE_GROUP = "live-lane"               # the live lane (stock-ticks -> open windows -> Redis)

# Spark's Kafka source names the consumer groups of the stream processor (which reads
# TICKS_TOPIC without committing: its checkpoint holds the offsets) with this prefix
STREAM_GROUP_PREFIX = "stream-processor"

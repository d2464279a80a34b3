"""Settings for every host of every inventory in this folder.

Each deploy's defaults live in its own `Settings` (deploys/<component>/__init__.py);
set here only what differs. Secrets never go here: `secret()` reads them from the
environment or from the untracked inventories/secrets.env.
"""
from shared.secrets import ca_file, secret

redis_password = secret("BIGDATA_REDIS_PASSWORD")  # its admin user
redis_publisher_password = secret("BIGDATA_REDIS_PUBLISHER_PASSWORD")
redis_live_lane_password = secret("BIGDATA_REDIS_LIVE_LANE_PASSWORD")
redis_dashboard_password = secret("BIGDATA_REDIS_DASHBOARD_PASSWORD")

# Kafka (deploys/kafka): the brokers' own SCRAM user, and each service's (deploys/kafka/users.py)
kafka_admin_password = secret("BIGDATA_KAFKA_ADMIN_PASSWORD")
kafka_producer_password = secret("BIGDATA_KAFKA_PRODUCER_PASSWORD")
kafka_writer_password = secret("BIGDATA_KAFKA_WRITER_PASSWORD")
kafka_stream_password = secret("BIGDATA_KAFKA_STREAM_PASSWORD")
kafka_publisher_password = secret("BIGDATA_KAFKA_PUBLISHER_PASSWORD")
kafka_live_lane_password = secret("BIGDATA_KAFKA_LIVE_LANE_PASSWORD")

# Cassandra (deploys/cassandra): the superuser that replaces the default one
cassandra_password = secret("BIGDATA_CASSANDRA_PASSWORD")
# ... and each service's login role (deploys/cassandra/roles.py)
cassandra_writer_password = secret("BIGDATA_CASSANDRA_WRITER_PASSWORD")
cassandra_dashboard_password = secret("BIGDATA_CASSANDRA_DASHBOARD_PASSWORD")

# Spark (deploys/spark): the cluster's shared secret (its RPC authenticated and encrypted)
spark_auth_secret = secret("BIGDATA_SPARK_AUTH_SECRET")

# ZooKeeper (deploys/zookeeper): its super user, and the users of Mesos and Marathon
# (deploys/zookeeper/acls.py; read only where the inventory runs them)
zookeeper_admin_password = secret("BIGDATA_ZOOKEEPER_ADMIN_PASSWORD")
zookeeper_mesos_password = secret("BIGDATA_ZOOKEEPER_MESOS_PASSWORD")
zookeeper_marathon_password = secret("BIGDATA_ZOOKEEPER_MARATHON_PASSWORD")

# Marathon (deploys/marathon): its HTTP basic auth (hosts of group marathon only)
marathon_http_password = secret("BIGDATA_MARATHON_PASSWORD")
# Mesos (deploys/mesos): the secrets Marathon (a framework) and the agents authenticate with
mesos_marathon_secret = secret("BIGDATA_MESOS_MARATHON_SECRET")
mesos_agent_secret = secret("BIGDATA_MESOS_AGENT_SECRET")

# The pipeline's apps (deploys/pipeline): the producer's control token, a Swarm secret
producer_token = secret("BIGDATA_PRODUCER_TOKEN")

# TLS (deploys/tls): every host's certificate from the platform's CA; the CA's files come
# from BIGDATA_CA_DIR, else the untracked inventories/ca/ (`./bigdata up` generates it)
tls_enabled = True
tls_ca_cert = ca_file("ca.crt")
tls_ca_key = ca_file("ca.key")

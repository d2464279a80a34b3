"""Settings for every host of every inventory in this folder.

Each deploy's defaults live in its own `Settings` (deploys/<component>/__init__.py);
set here only what differs. Secrets never go here: `secret()` reads them from the
environment or from the untracked inventories/secrets.env.
"""
from shared.secrets import secret

redis_password = secret("BIGDATA_REDIS_PASSWORD")

# Kafka (deploys/kafka): the brokers' own SCRAM user and the pipeline's
kafka_admin_password = secret("BIGDATA_KAFKA_ADMIN_PASSWORD")
kafka_client_password = secret("BIGDATA_KAFKA_CLIENT_PASSWORD")

# Cassandra (deploys/cassandra): the superuser that replaces the default one
cassandra_password = secret("BIGDATA_CASSANDRA_PASSWORD")

# Marathon (deploys/marathon): its HTTP basic auth (hosts of group marathon only)
marathon_http_password = secret("BIGDATA_MARATHON_PASSWORD")

"""Kafka 4 in KRaft mode from the Apache release archive (or the project's mirror):
every host of group kafka is a combined controller+broker; clients and brokers
authenticate with SASL/SCRAM-SHA-512, the controllers with SASL/PLAIN, both over
TLS with the host's certificate when tls_enabled (deploys/tls; no plaintext port
then); each service has its own user, whose ACLs allow exactly its topics and groups
(deploys/kafka/users.py).

The storage is formatted once, with a cluster id derived from `kafka_cluster_name`
(or set as `kafka_cluster_id`) and the admin user's SCRAM credential; a later run
never reformats it. A config change restarts the brokers one at a time, each
time waiting until no partition is under-replicated. The pipeline's topics, its
user and its ACLs are created only where the running cluster lacks them.

Operators run Kafka's tools with `kafka-run-class <class> ...` and the admin's
client settings in /etc/kafka/admin.properties (see that file).

The deploy's steps, each in its own module: settings (the inventory's, and where
files live), configure, storage (formatted once), restart (started, or restarted one
broker at a time), topics (the pipeline's user, ACLs and topics), checks (readiness),
facts (what the cluster looks like before a run); install runs them in order."""
from deploys.kafka.checks import status_check
from deploys.kafka.install import install_kafka
from deploys.kafka.settings import ADMIN_CONFIG, TOOL, Settings

__all__ = ["ADMIN_CONFIG", "TOOL", "Settings", "install_kafka", "status_check"]

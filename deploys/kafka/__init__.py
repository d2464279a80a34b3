"""Kafka 4 in KRaft mode from the Apache release archive (or the project's mirror):
every host of group kafka is a combined controller+broker. With tls_enabled (deploys/tls)
clients authenticate with SASL/SCRAM-SHA-512 over TLS, and the nodes reach each other
(broker to broker, the metadata quorum) over mutual TLS, each known by its certificate:
no plaintext port, and no password between nodes, so the admin's is for operators and the
deploy alone and a new one is set live (deploys/kafka/admin.py). Without TLS the brokers
log in as the admin (SCRAM; PLAIN to the controllers). Each service has its own user,
whose ACLs allow exactly its topics and groups (deploys/kafka/users.py).

The storage is formatted once, with a cluster id derived from `kafka_cluster_name`
(or set as `kafka_cluster_id`) and the admin user's SCRAM credential; a later run
never reformats it. A config change restarts the brokers one at a time, each
time waiting until no partition is under-replicated. The pipeline's topics, its
user and its ACLs are created only where the running cluster lacks them.

Operators run Kafka's tools with `kafka-run-class <class> ...` and the admin's
client settings in /etc/kafka/admin.properties (see that file).

The deploy's steps, each in its own module: settings (the inventory's, and where
files live), admin (its new password), configure, storage (formatted once), restart
(started, or restarted one broker at a time), topics (the pipeline's user, ACLs and
topics), checks (readiness), facts (what the cluster looks like before a run); install
runs them in order."""
from deploys.kafka.checks import status_check
from deploys.kafka.install import install_kafka
from deploys.kafka.settings import ADMIN_CONFIG, TOOL, Settings

__all__ = ["ADMIN_CONFIG", "TOOL", "Settings", "install_kafka", "status_check"]

"""A real cluster: an example to copy and edit, not to run as it is.

    cp inventories/production.example.py inventories/production.py  # beside group_data/
    $EDITOR inventories/production.py        # your hosts, mirrors, sizes and names
    export BIGDATA_REDIS_PASSWORD=... BIGDATA_KAFKA_ADMIN_PASSWORD=... \\
           BIGDATA_KAFKA_{PRODUCER,WRITER,STREAM,PUBLISHER,LIVE_LANE}_PASSWORD=... \\
           BIGDATA_CASSANDRA_PASSWORD=... BIGDATA_CASSANDRA_{WRITER,DASHBOARD}_PASSWORD=... \\
           BIGDATA_PRODUCER_TOKEN=... BIGDATA_REDIS_{PUBLISHER,LIVE_LANE,DASHBOARD}_PASSWORD=... \\
           BIGDATA_SPARK_AUTH_SECRET=... BIGDATA_MARATHON_PASSWORD=... \\
           BIGDATA_ZOOKEEPER_{ADMIN,MESOS,MARATHON}_PASSWORD=... \\
           BIGDATA_MESOS_{MARATHON,AGENT}_SECRET=...  # or NAME=value lines in BIGDATA_SECRETS_FILE
    export BIGDATA_CA_DIR=/path/to/your-ca   # your CA: ca.crt and ca.key (deploys/tls), or
                                             # tls_ca_cert and tls_ca_key in `all` below
    .venv/bin/pyinfra inventories/production.py deploys/site.py --dry   # the plan; changes nothing
    .venv/bin/pyinfra inventories/production.py deploys/site.py
    .venv/bin/pyinfra inventories/production.py deploys/apps.py      # then the pipeline's apps

Every value here overrides a default. The defaults and their checks live in each
deploy's `Settings` model (deploys/<component>/__init__.py: every other setting is
listed there, with its default); a setting left out keeps its default. Secrets are
never written here: group_data/all.py reads them from the environment or from the
secrets file (inventories/secrets.env, untracked; BIGDATA_SECRETS_FILE names
another). A missing secret, a wrong value or a group of the wrong size fails
before pyinfra touches any host, naming the key and how to fix it.

Layout: three data nodes (Kafka, Cassandra, Spark workers, and the Mesos agents
that run the pipeline's containers) and three control nodes (ZooKeeper, the Mesos
masters and Marathon; the Spark master and Redis on the first). Host names are
what pyinfra connects to and, unless a host sets `address`, how hosts reach
each other.
"""
from deploys.inventory import check_inventory

# --- hosts ----------------------------------------------------------------------------
# per-host settings: the rack each data node stands in (Cassandra places replicas
# across racks; Marathon constraints can use the Mesos attribute)
_data_nodes = [
    ("data1.bigdata.example", {"cassandra_rack": "rack1", "mesos_agent_attributes": {"rack": "rack1"}}),
    ("data2.bigdata.example", {"cassandra_rack": "rack2", "mesos_agent_attributes": {"rack": "rack2"}}),
    # `address`: how other hosts reach this one, when not by its inventory name
    ("data3.bigdata.example", {"cassandra_rack": "rack3", "mesos_agent_attributes": {"rack": "rack3"},
                               "address": "10.0.0.13"}),
]
_control_nodes = ["control1.bigdata.example", "control2.bigdata.example", "control3.bigdata.example"]

# --- every host (deploys/common) -----------------------------------------------------
all = (_data_nodes + _control_nodes, {
    "ssh_user": "deploy",                     # the account pyinfra logs in as
    "ssh_key": "~/.ssh/bigdata_deploy",       # its private key, on this (the control) machine
    "_sudo": True,                            # that account becomes root with sudo (not needed as root)
    # where Apache distributions come from: your mirror laid out like archive.apache.org/dist
    # (`./bigdata mirror` builds one); each tarball is checked against its .sha512
    "artifact_base_url": "https://mirror.bigdata.example/apache",
})

# --- ZooKeeper (deploys/zookeeper): Mesos and Marathon elect leaders through it -------
# an odd number of servers: 3 survive one failure, 5 survive two
# secrets: zookeeper_admin_password (BIGDATA_ZOOKEEPER_ADMIN_PASSWORD), the super user; Mesos
# and Marathon log in as their own users (BIGDATA_ZOOKEEPER_{MESOS,MARATHON}_PASSWORD). Their
# clients speak no TLS: with them in the inventory the plaintext port 2181 stays open beside
# the TLS one (2281), so keep ZooKeeper and Mesos on a private network.
zookeeper = (_control_nodes, {
    "zookeeper_heap_mb": 1024,                # JVM heap per server (unset: 1/16 of memory, 256 MB..2 GiB)
})

# --- Kafka (deploys/kafka): KRaft, every broker also a controller ------------------------
# secrets: kafka_admin_password (BIGDATA_KAFKA_ADMIN_PASSWORD), and each service user's,
# kafka_<producer|writer|stream|publisher|live_lane>_password (BIGDATA_KAFKA_<...>_PASSWORD)
kafka = (_data_nodes, {
    "kafka_cluster_name": "bigdata-production",  # the cluster id derives from it: never change it later
    "kafka_heap_mb": 6144,                    # JVM heap per broker (unset: a quarter of memory, up to 6 GiB)
    "kafka_partitions": 12,                   # partitions of the pipeline's topics: the consumers' parallelism
    "kafka_log_retention_hours": 72,          # how long ticks stay in Kafka (Cassandra keeps the history)
    # "kafka_log_retention_mb": 51200,        # ... and how much per partition (unset: no size limit)
    # durability: kafka_flush_messages / kafka_flush_ms force an fsync (unset: replication makes
    # a record durable, the production default; README, "Durability")
})

# --- Cassandra (deploys/cassandra): the price history --------------------------------------
# secrets: cassandra_password (BIGDATA_CASSANDRA_PASSWORD), for the superuser below, and each
# service role's, cassandra_writer_password and cassandra_dashboard_password (BIGDATA_CASSANDRA_<...>_PASSWORD)
cassandra = (_data_nodes, {
    "cassandra_cluster_name": "bigdata-production",  # fixed once the ring exists
    "cassandra_dc": "eu-west",                # the data center of these nodes (racks: per host, above)
    "cassandra_heap_mb": 8192,                # JVM heap per node (unset: Cassandra's rule, up to 8 GiB)
    "cassandra_ticks_ttl_days": 30,           # how long a tick is kept (0: forever)
    "cassandra_backup_dir": "/srv/backups/bigdata",  # on the control machine: deploys/backup.py's backups
    "cassandra_backup_keep": 14,              # the newest kept
    # cassandra_superuser: the role that replaces the default `cassandra` superuser
    # durability: cassandra_commitlog_sync "periodic" (every 10 s: the production default with
    # three replicas), "batch" or "group" (README, "Durability")
})

# --- Redis (deploys/redis): the latest analytics for the dashboard -------------------
# secret: redis_password (BIGDATA_REDIS_PASSWORD)
redis = (_control_nodes[:1], {
    "redis_maxmemory_mb": 2048,               # memory cap; beyond it, keys are evicted (least recently used)
})

# --- Spark (deploys/spark): standalone, one master ---------------------------------------
# secret: spark_auth_secret (BIGDATA_SPARK_AUTH_SECRET), the cluster's shared secret (daemons, drivers)
spark_master = (_control_nodes[:1], {
    "spark_daemon_heap_mb": 1024,             # the master daemon's heap
    "spark_master_webui_port": 8090,          # its UI: Marathon has 8080 on the control nodes
})
spark_worker = (_data_nodes, {
    "spark_worker_cores": 4,                  # cores each worker offers (unset: all of them)
    "spark_worker_memory_mb": 8192,           # memory each worker offers (unset: half the host's)
    "spark_executor_memory_mb": 2048,         # an application's executor memory
    "spark_driver_memory_mb": 1024,           # an application's driver memory
})

# --- GlusterFS (deploys/glusterfs): the shared directory of the stream processor's checkpoint
# Its task may run on any agent (or swarm node) and Spark's executors on any worker: all of
# them must see one checkpoint. One volume replicated 3 times (1 host or a multiple of 3),
# mounted on every host of the group at the Spark data dir's checkpoints.
glusterfs = (_data_nodes, {
    "glusterfs_brick_dir": "/srv/gluster/bigdata/brick",  # on a disk of its own
})

# --- Docker engine (deploys/docker): the Mesos agents' Docker containerizer ----------
docker = (_data_nodes, {
    "docker_users": ("deploy",),              # may use the engine (the docker group: root-equivalent)
    # the engine comes from Debian (`docker.io`) through the hosts' own apt mirror; for
    # Docker's `docker-ce`, set docker_package, docker_apt_repository and docker_apt_key_url
})

# --- Mesos (deploys/mesos): masters elected through ZooKeeper, agents run containers ----
_mesos_packages = {
    # your mirror of AVENTER's Debian repository, and its signing key (a URL, or a file here)
    "mesos_apt_repository": "https://apt.bigdata.example/aventer/bookworm",
    "mesos_apt_key_url": "https://apt.bigdata.example/aventer/support_aventer.asc",
    "mesos_apt_key_sha256": "0" * 64,         # the key's SHA-256 (a placeholder: put yours, or None)
    "mesos_package_version": "1.11.0-0.7.1.debian12",  # pin what every host installs
}
mesos_master = (_control_nodes, {
    **_mesos_packages,
    "mesos_cluster_name": "bigdata-production",  # shown in the Mesos UI
    # mesos_quorum: unset, a majority of the masters (2 of 3)
})
mesos_agent = (_data_nodes, {
    **_mesos_packages,
    # mesos_agent_resources: what each agent offers (cpus, mem and disk are detected); a
    # port range of your own must keep the dashboard's 8050 (marathon/apps/dashboard.json)
})

# --- Marathon (deploys/marathon): runs the pipeline's apps (marathon/apps) ------------
# secret: marathon_http_password (BIGDATA_MARATHON_PASSWORD); marathon/submit.py uses it too
marathon = (_control_nodes, {
    **_mesos_packages,                        # Marathon's hosts need the Mesos library too
    "marathon_heap_mb": 2048,                 # JVM heap per Marathon
    "marathon_http_user": "pipeline-admin",   # HTTP basic auth user (password: the secret)
    # --- the pipeline's apps (deploys/apps.py submits marathon/apps to Marathon) ---
    "pipeline_image_tags": {"bigdata/pipeline": "2026.11.1"},  # the image release every agent runs
    "pipeline_scale": {"storage-writer": 3},  # instances per app, over the definitions' own
})

# --- without Mesos: the apps on Docker Swarm (deploys/swarm) instead ---------------------
# Leave out mesos_master, mesos_agent and marathon above, and make the Docker hosts a swarm
# (1, 3 or 5 managers; the rest workers); deploys/apps.py then deploys the apps as a stack:
#   docker = _data_nodes + _control_nodes
#   swarm_manager = _control_nodes
#   swarm_worker = _data_nodes
# node labels for placement: "swarm_node_labels": {"rack": "rack1"} in a host's data

check_inventory(__file__, globals())

"""Settings for the local hosts (containers or the Vagrant VM on this machine):
no internet, so distributions come from the mirror `./bigdata mirror` builds."""
from shared.paths import CACHE

artifact_base_url = str(CACHE / "mirror")

# Spark (deploys/spark): small, on a laptop-sized machine
spark_daemon_heap_mb = 128
spark_worker_cores = 2
spark_worker_memory_mb = 1024
spark_executor_memory_mb = 512
spark_driver_memory_mb = 512
# a lost worker shows (status, the master UI) in 15 s, not a minute: local hosts have no long GC pauses
spark_worker_timeout_s = 15

# Docker (deploys/docker): the host image's login user (Vagrant's) may use the engine
docker_users = ("vagrant",)

# Kafka (deploys/kafka): a container sees the whole machine's memory, so the
# derived heap (a quarter of it) would be far too big for a laptop-sized host
kafka_heap_mb = 512

# Cassandra (deploys/cassandra): a container sees the whole machine's memory; a
# 1 GiB heap keeps the one-node host (all five services) under 4 GiB
cassandra_heap_mb = 1024

# ZooKeeper (deploys/zookeeper): Mesos and Marathon keep little state in it
zookeeper_heap_mb = 128
# local hosts share one fast network: gossip converges at once, so nodes need not
# wait Cassandra's production delays (30 s ring delay, gossip settling) to join
cassandra_ring_delay_ms = 5000
cassandra_skip_gossip_settle = True

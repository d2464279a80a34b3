"""Settings for the local hosts (containers or the Vagrant VM on this machine):
no internet, so distributions come from the mirror `./bigdata mirror` builds."""
from ctl import CACHE

artifact_base_url = str(CACHE / "mirror")

# Spark (deploys/spark): small, on a laptop-sized machine
spark_daemon_heap_mb = 128
spark_worker_cores = 2
spark_worker_memory_mb = 1024
spark_executor_memory_mb = 512
spark_driver_memory_mb = 512

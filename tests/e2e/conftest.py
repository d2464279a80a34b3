"""The whole pipeline: as processes on the one-node platform, from `./bigdata up`, and
as Swarm services on the three-node rig (test_cluster_pipeline.py). The same fixtures as
tests/services (backends, services, kafka, cassandra, redis, jobs; there, not
copied here) and the same helpers (servicekit.py), plus a headless browser
(browser.py)."""
from __future__ import annotations

import importlib.util
from pathlib import Path

SERVICES_TESTS = Path(__file__).resolve().parent.parent / "services"

_spec = importlib.util.spec_from_file_location("services_tests_conftest", SERVICES_TESTS / "conftest.py")
_shared = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_shared)

backends = _shared.backends
services = _shared.services
kafka = _shared.kafka
cassandra = _shared.cassandra
redis = _shared.redis
spark_host = _shared.spark_host
jobs = _shared.jobs

"""GET /metrics: a service's counters and health in Prometheus' text format, read by
Prometheus' own parser from a real Service's HTTP endpoint."""
import urllib.request

import pytest
from prometheus_client.parser import text_string_to_metric_families

from services.core.service import Service
from services.core.settings import Settings
from test_services_runtime import free_port


@pytest.fixture
def service():
    running = Service("storage-writer", Settings.from_env({"BIGDATA_HTTP_HOST": "127.0.0.1"}),
                      default_port=free_port())
    running._serve_http()
    yield running
    running.finish(0)


def scrape(service) -> dict[tuple[str, tuple], float]:
    with urllib.request.urlopen(f"http://127.0.0.1:{service.port}/metrics", timeout=5) as reply:
        assert reply.headers["Content-Type"].startswith("text/plain; version=")  # Prometheus' text format
        text = reply.read().decode()
    return {(sample.name, tuple(sorted(sample.labels.items()))): sample.value
            for family in text_string_to_metric_families(text) for sample in family.samples}


def test_the_counters_and_the_health_are_what_the_service_keeps(service):
    service.count("stored", 1200)
    service.count("batch_failures")
    service.count("rejected.bad_price", 3)
    service.count("rejected.unknown_currency")
    service.healthy("cannot reach Cassandra")
    found = scrape(service)
    me = ("service", "storage-writer")
    assert found[("bigdata_stored_total", (me,))] == 1200
    assert found[("bigdata_batch_failures_total", (me,))] == 1
    assert found[("bigdata_rejected_total", (("reason", "bad_price"), me))] == 3
    assert found[("bigdata_rejected_total", (("reason", "unknown_currency"), me))] == 1
    assert found[("bigdata_health", (me, ("status", "degraded")))] == 1
    assert found[("bigdata_health", (me, ("status", "running")))] == 0
    assert found[("bigdata_uptime_seconds", (me,))] >= 0
    service.count("stored", 5)
    service.healthy()
    again = scrape(service)  # read at each scrape: never stale
    assert again[("bigdata_stored_total", (me,))] == 1205
    assert again[("bigdata_health", (me, ("status", "running")))] == 1

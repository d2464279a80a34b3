"""GET /metrics: a service's counters and health in Prometheus' text format, read by
Prometheus' own parser from a real Service's HTTP endpoint."""
import urllib.request

import pytest
from prometheus_client.parser import text_string_to_metric_families

from services.core.consume import LagWatch
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


def test_a_consumers_lag_per_partition_is_a_gauge(service):
    service.lag = lambda: {("ticks", 0): 12, ("ticks", 2): 0}
    found = scrape(service)
    me = ("service", "storage-writer")
    assert found[("bigdata_consumer_lag_records", (("partition", "0"), me, ("topic", "ticks")))] == 12
    assert found[("bigdata_consumer_lag_records", (("partition", "2"), me, ("topic", "ticks")))] == 0


def test_a_lag_over_the_limit_past_the_grace_is_a_problem_and_catching_up_clears_it():
    watch = LagWatch(limit=1000, grace_s=60)
    assert watch.problem(5000, now=0) is None  # a burst: not yet
    assert watch.problem(900, now=30) is None  # worked off within the grace
    assert watch.problem(2000, now=40) is None  # over again: the grace starts again
    assert watch.problem(3000, now=99) is None
    problem = watch.problem(4000, now=100)
    assert problem and problem.startswith("4000 records behind for 60 s"), problem
    assert watch.problem(1000, now=101) is None  # caught up to the limit: clear

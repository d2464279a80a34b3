"""A service's counters and health in Prometheus' text format, for GET /metrics: read,
at scrape time, from what the service already keeps (prometheus_client's custom
collector), so /health and /metrics never disagree.

    bigdata_stored_total{service="storage-writer"} 1200
    bigdata_rejected_total{service="storage-writer",reason="bad_price"} 3
    bigdata_health{service="storage-writer",status="running"} 1
    bigdata_consumer_lag_records{service="storage-writer",topic="ticks",partition="0"} 12
"""
from __future__ import annotations

import re
from typing import TYPE_CHECKING

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

if TYPE_CHECKING:
    from services.core.service import Service

CONTENT_TYPE = CONTENT_TYPE_LATEST
REJECTED = "rejected."  # the prefix of the counters of refused records, by reason (Service.count_rejected)
STATES = ("starting", "running", "degraded", "stopping", "stopped")


def metric_name(counter: str) -> str:
    """A counter's metric name: bigdata_<its name, in Prometheus' characters>."""
    return "bigdata_" + re.sub(r"[^a-zA-Z0-9_]", "_", counter)


class _ServiceCollector:
    def __init__(self, service: "Service"):
        self.service = service

    def collect(self):
        name, counters = self.service.name, self.service.snapshot()
        rejected = CounterMetricFamily("bigdata_rejected", "Records refused (dead-lettered or dropped), by reason",
                                       labels=["service", "reason"])
        for counter, value in sorted(counters.items()):
            if counter.startswith(REJECTED):
                rejected.add_metric([name, counter.removeprefix(REJECTED)], value)
            else:
                family = CounterMetricFamily(metric_name(counter), f"The service's {counter} count",
                                             labels=["service"])
                family.add_metric([name], value)
                yield family
        yield rejected
        health = GaugeMetricFamily("bigdata_health", "1 for the service's status (what /health says), else 0",
                                   labels=["service", "status"])
        for state in STATES:
            health.add_metric([name, state], 1.0 if self.service.state == state else 0.0)
        yield health
        if self.service.lag:
            lag = GaugeMetricFamily("bigdata_consumer_lag_records", "Records behind the partition's end "
                                    "(the end its last fetch saw, less the committed offset)",
                                    labels=["service", "topic", "partition"])
            for (topic, partition), behind in sorted(self.service.lag().items()):
                lag.add_metric([name, topic, str(partition)], behind)
            yield lag
        uptime = GaugeMetricFamily("bigdata_uptime_seconds", "Seconds since the service started", labels=["service"])
        uptime.add_metric([name], self.service.uptime())
        yield uptime


def registry_of(service: "Service") -> CollectorRegistry:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_ServiceCollector(service))
    return registry


def exposition(registry: CollectorRegistry) -> bytes:
    return generate_latest(registry)

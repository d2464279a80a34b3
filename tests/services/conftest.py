"""The services against real backends: Kafka, Cassandra and Redis on the one-node
platform (inventories/bigdata.py), provisioned by the project's own deploys through
the test rig (`one_node`, shared with tests/cluster, see tests/conftest.py), never mocks.

The test process runs on the control machine, where the containers' names do not
resolve: it reaches Cassandra and Redis by IP, and Kafka by the address its broker
advertises, which must therefore be one this machine can reach (an IP).

The helpers (servicekit.py) start the services as real processes
(`python -m services.<name>`), read their health, and talk to the backends the way
an operator's tools would.
"""
from __future__ import annotations

import os
import subprocess

import pytest

from services.core import clients
from servicekit import (Backends, Kafka, ServiceProcess, SparkJob, advertised_kafka, backends_of, cassandra_of,
                        install, kafka_of, reachable, stream_job)


@pytest.fixture(scope="session")
def backends(request) -> Backends:
    """The one-node platform's Kafka, Cassandra and Redis. BIGDATA_TEST_BACKENDS=<container>
    uses a running one-node platform instead (provisioned with the secrets in this
    environment): quick iterations while developing a service."""
    name = os.environ.get("BIGDATA_TEST_BACKENDS") or request.getfixturevalue("one_node").names[0]
    advertised = advertised_kafka(name)
    assert reachable(advertised), (
        f"Kafka on {name} advertises {advertised}, which does not resolve on this machine, so no client "
        f"here can produce or consume: deploys/kafka must advertise an address the clients reach (the "
        f"host's resolved IP)")
    return backends_of(name)


@pytest.fixture
def services(backends, tmp_path):
    """start(module, **env): a service process on the backends; killed at the end if still running."""
    started: list[ServiceProcess] = []

    def start(module: str, **env) -> ServiceProcess:
        name = module.rsplit(".", 1)[-1]
        process = ServiceProcess(module, {**backends.env, **{k: str(v) for k, v in env.items()}},
                                 tmp_path / f"{name}-{len(started)}.log").start()
        started.append(process)
        return process

    yield start
    for process in started:
        process.stop_quietly()


@pytest.fixture(scope="session")
def kafka(backends) -> Kafka:
    yield from kafka_of(backends)


@pytest.fixture(scope="session")
def cassandra(backends):
    yield from cassandra_of(backends)


@pytest.fixture(scope="session")
def redis(backends):
    client = clients.redis_client(backends.settings)
    yield client
    client.close()


@pytest.fixture(scope="module")
def spark_host(backends):
    """The job's code on the one-node platform's Spark host."""
    install(backends.container)
    return backends


@pytest.fixture
def jobs(spark_host, tmp_path):
    """start(checkpoint, **env): the job on the Spark host; killed at the end if still running."""
    started: list[SparkJob] = []

    def start(checkpoint: str, **env) -> SparkJob:
        job = stream_job(spark_host, checkpoint, tmp_path / f"job-{len(started)}.log", 18013 + len(started),
                         **env).start()
        started.append(job)
        return job

    yield start
    for job in started:
        job.stop_quietly()
    checkpoints = sorted({job.env["BIGDATA_STREAM_CHECKPOINT"] for job in started})
    if checkpoints:
        subprocess.run(["docker", "exec", spark_host.container, "rm", "-rf", *checkpoints])

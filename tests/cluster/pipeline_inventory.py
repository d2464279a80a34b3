"""One docker-capable host for the one-node runtime's tests (tests/cluster/test_pipeline_runtime.py):
no backends, only the test apps of tests/cluster/pipeline_apps, run from the project's host image."""
from pathlib import Path

from ctl.hosts import local_hosts
from deploys.settings import check_inventory

APPS = str(Path(__file__).resolve().parent / "pipeline_apps")

pipeline = docker = [(name, {**data, "pipeline_apps_dir": APPS}) for name, data in local_hosts("bigdata-apps")]

check_inventory(__file__, globals())

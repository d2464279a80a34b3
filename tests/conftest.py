"""Shared fixtures. The test rig: real systemd hosts from the project's host image,
provisioned by the project's own inventories and deploys, handed to testinfra, and
removed at the end, even when a test fails or the run is interrupted."""
import os
import shutil
import signal
import tempfile
import time
from dataclasses import dataclass

import pytest
import testinfra

from ctl import hosts, images, prereqs
from ctl import ROOT
from ctl.testrun import LANE_ENV, LANES, ONE_NODE_LANE, THREE_NODE_LANE
from ctl.provision import DeployResult, containers_of, load_inventory, run_deploy
from shared import secrets
from deploys.inventory import collect, inventory_groups
from deploys.tls import pki

OWNER = f"rig:{os.getpid()}"
PREFIX = f"rig{os.getpid()}-"
NETWORK = f"{PREFIX}net"


def pytest_configure(config):
    # Tests never use real secrets: each run makes its own, inherited by the deploys it
    # runs, and never reads an operator's inventories/secrets.env.
    os.environ["BIGDATA_SECRETS_FILE"] = os.devnull
    for name, value in secrets.generate().items():
        os.environ.setdefault(name, value)
    # ... and their own CA (deploys/tls), never an operator's inventories/ca/
    if not os.environ.get(secrets.CA_DIR_ENV):
        config.test_ca_dir = tempfile.mkdtemp(prefix="bigdata-test-ca-")
        pki.write_ca(pki.create_ca(f"bigdata test CA ({os.getpid()})"), config.test_ca_dir)
        os.environ[secrets.CA_DIR_ENV] = config.test_ca_dir

    # SIGTERM (a CI timeout, `kill`) unwinds like Ctrl-C, so fixtures still remove their hosts.
    def interrupt(signum, frame):
        raise KeyboardInterrupt(f"signal {signum}")

    signal.signal(signal.SIGTERM, interrupt)
    # And Ctrl-C (SIGINT) does, however the run was started: Python leaves SIGINT ignored
    # when it starts ignored, as in a background job of a non-interactive shell, where a
    # run then never unwound (test_rig's SIGINT case waited out its 120 s).
    signal.signal(signal.SIGINT, signal.default_int_handler)


def pytest_unconfigure(config):
    if getattr(config, "test_ca_dir", None):
        shutil.rmtree(config.test_ca_dir, ignore_errors=True)
        os.environ.pop(secrets.CA_DIR_ENV, None)


@dataclass
class Platform:
    inventory: str
    names: list[str]
    first_run: DeployResult
    second_run: DeployResult

    @property
    def hosts(self):
        return [testinfra.get_host(f"docker://{name}") for name in self.names]

    def view(self) -> dict[str, tuple[list[str], dict]]:
        """container name -> (its inventory groups, its merged inventory data), read
        from the inventory the platform was provisioned with, as the deploys read it."""
        groups = inventory_groups(load_inventory(self.inventory, PREFIX))
        return {h.name.removeprefix("@docker/"): (h.groups, h.values)
                for h in collect(str(ROOT / self.inventory), groups)}

    def members(self, group: str) -> list[str]:
        """The containers of an inventory group, in inventory order."""
        view = self.view()
        return [name for name in self.names if group in view[name][0]]

    def settings(self, name: str, model):
        """A component's settings on one host: the inventory's values over the defaults."""
        return model.from_values(self.view()[name][1])

    def deploy(self, deploy="deploys/site.py", inventory=None, **kwargs) -> DeployResult:
        """Run a deploy again on these hosts (with another inventory naming the same hosts, if given)."""
        return run_deploy(inventory or self.inventory, deploy, prefix=PREFIX, **kwargs)


@pytest.fixture(scope="session")
def host_image():
    prereqs.ensure_docker()
    hosts.remove_orphans()
    return images.host_image()


def lane(item) -> str:
    """The lane of ./bigdata test (ctl/testrun.py) a test runs in: the three-node rig's or the other."""
    params = getattr(item, "callspec", None)
    on_three = "three_node" in item.fixturenames or (params and params.params.get("platform") == "three_node")
    return THREE_NODE_LANE if on_three else ONE_NODE_LANE


def pytest_collection_modifyitems(config, items):
    wanted = os.environ.get(LANE_ENV)
    if not wanted:
        return
    if wanted not in LANES:
        raise pytest.UsageError(f"{LANE_ENV}={wanted!r}: one of {', '.join(LANES)}")
    kept, other = [], []
    for item in items:
        (kept if lane(item) == wanted else other).append(item)
    config.hook.pytest_deselected(items=other)
    items[:] = kept


OWN_PLATFORM = "own_platform"  # the marker of a module that brings up a platform of its own
RIG_DONE_AT = pytest.StashKey[int | None]()


@pytest.hookimpl(trylast=True)
def pytest_collection_finish(session):
    """The index of the first test from which on every test brings up its own platform
    (tests/e2e/test_up.py: `./bigdata up`'s node): the rig's hosts are removed before it,
    not at the session's end, so that they do not idle beside that platform on the two
    cores. None when a rig test comes last."""
    items = session.items
    tail = len(items)
    while tail and items[tail - 1].get_closest_marker(OWN_PLATFORM):
        tail -= 1
    session.config.stash[RIG_DONE_AT] = tail if tail < len(items) else None


def pytest_runtest_setup(item):
    done_at = item.config.stash.get(RIG_DONE_AT, None)
    if done_at is not None and item is item.session.items[done_at] and OWNER in hosts.owners():
        with item.config.pluginmanager.getplugin("capturemanager").global_and_fixture_disabled():
            print("\n==> rig: removing its hosts (every later test brings up its own platform)", flush=True)
        hosts.remove(OWNER)


@pytest.fixture(scope="session")
def progress(pytestconfig):
    """Prints a line to the terminal even while pytest captures output: long
    provisioning steps say what they are doing."""
    capture = pytestconfig.pluginmanager.getplugin("capturemanager")

    def say(message: str) -> None:
        with capture.global_and_fixture_disabled():
            print(f"\n==> {message}", flush=True)

    return say


@pytest.fixture(scope="session")
def rig(host_image, progress):
    """provision(inventory, deploy): start an inventory's hosts and deploy to them
    twice. Whatever is left is removed at the end of the session."""

    def provision(inventory: str, deploy: str = "deploys/site.py") -> Platform:
        names = containers_of(inventory, PREFIX)
        started = time.monotonic()
        progress(f"rig: starting {len(names)} host(s) for {inventory}")
        hosts.start(names, image=host_image, network=NETWORK, owner=OWNER)
        label = inventory.rsplit("/", 1)[-1].removesuffix(".py")
        runs = []
        for attempt in ("first", "second"):
            result = run_deploy(inventory, deploy, prefix=PREFIX, log_name=f"{label}-{attempt}")
            progress(f"rig: {attempt} run of {deploy} on {inventory}: {result.changed} change(s), "
                     f"exit {result.returncode} ({time.monotonic() - started:.0f}s so far; log {result.log})")
            assert result.returncode == 0, f"{attempt} deploy of {inventory} failed:\n{result.output[-4000:]}"
            runs.append(result)
        return Platform(inventory, names, *runs)

    try:
        yield provision
    finally:
        hosts.remove(OWNER)


@pytest.fixture(scope="session")
def one_node(rig) -> Platform:
    """The whole platform on the one-node "bigdata" inventory (cluster and service tests share it)."""
    return rig("inventories/bigdata.py")


@pytest.fixture(scope="session")
def three_node(rig) -> Platform:
    """The whole platform on the local three-node cluster inventory."""
    return rig("inventories/cluster.py")


@pytest.fixture(scope="session", params=["one_node", "three_node"], ids=["one-node", "three-node"])
def platform(request) -> Platform:
    """Each cluster test runs on one node and on three."""
    return request.getfixturevalue(request.param)

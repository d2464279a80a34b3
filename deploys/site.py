"""The whole platform, in order (deploys/components.py): each component on the hosts
of its inventory groups, each waiting until its service answers before the next starts.

    pyinfra inventories/bigdata.py deploys/site.py

BIGDATA_COMPONENTS=zookeeper,kafka limits a run to those components (the common
base and the hosts' certificates always run), e.g. to roll out a Kafka config change alone.
"""
import os

from pyinfra import host

from deploys.components import COMMON, PLATFORM
from deploys.progress import report

known = [component.name for component in PLATFORM]
selected = (os.environ.get("BIGDATA_COMPONENTS") or ",".join(known)).split(",")  # empty: all
unknown = set(selected) - set(known)
if unknown:
    raise SystemExit(f"BIGDATA_COMPONENTS: unknown component(s) {', '.join(sorted(unknown))}; "
                     f"known: {', '.join(known)}")

report()  # live progress for ./bigdata, when it asks
COMMON.install()
# host.loop: each component's operations are told apart by its place in the list. pyinfra
# names an operation by the line numbers of its call stack, and every component is called
# from the line below: two components' operations on the same line numbers would share a
# name, and hosts that run different components would order them differently (pyinfra's
# "Cycle detected in operation ordering DAG").
for component in host.loop(PLATFORM):
    if (component.always or component.name in selected) and component.deployed_to(host.groups):
        component.install()

"""The pipeline's apps, from their one description (marathon/apps/*.json):

- an inventory with a `marathon` group: submitted to Marathon (marathon/submitter.py),
  once, from the control machine;
- else on Docker Swarm (the `swarm_manager` and `swarm_worker` hosts, deploys/swarm;
  the default, one node for `./bigdata up` and Vagrant): each definition translated
  into a Swarm service (marathon/swarm.py) of one stack (`pipeline_stack`), deployed
  with `docker stack deploy` from the first manager. Swarm then does what Marathon
  would: replicas, rolling updates that roll back by themselves when the new tasks are
  not healthy, restarts, placement, secrets.

Both paths prepare the definitions the same way (`prepare`): the built images' tags,
the site env computed once from the inventory (`site_env`: where Kafka, Cassandra,
Redis and the Spark master are), scaling, and the secrets each app's `secrets` names.

On Swarm, a secret becomes a Swarm secret named after a digest of its value (a new
value is a new secret, the old one removed once unused), mounted in the containers
that name it. Images reach every node only when its copy differs (`docker save` to a
cache on the control machine, upload, `docker load`); there is no registry. The stack
is deployed only when a service's spec (its digest, a label on the service) differs
from the one wanted, and the deploy then waits until each changed service has
converged, failing with Swarm's own words when one rolled back.

One module per step: settings.py (the `Settings` model), prepare.py (the definitions as
this inventory runs them), marathon.py (submission to Marathon); on Swarm, swarm.py (the
steps in their order), images.py, secrets.py, stack.py (the stack deploy) and rollout.py
(waiting until it converged).
"""
from pyinfra import host
from pyinfra.api import deploy
from pyinfra.api.exceptions import DeployError

from deploys.pipeline.marathon import submit_to_marathon
from deploys.pipeline.settings import Settings
from deploys.pipeline.swarm import run_on_swarm
from deploys.swarm import MANAGERS, WORKERS
from deploys.topology import members

__all__ = ["Settings", "install_pipeline"]


@deploy("Pipeline apps", data_defaults=Settings.defaults())
def install_pipeline():
    """Run every app of marathon/apps: on Marathon if the inventory has one, else on the
    swarm of its swarm_manager and swarm_worker hosts.

    Args (inventory data or --data, defaults in `Settings`):
        pipeline_image_tags: {"bigdata/pipeline": TAG, ...}, the images to run
        pipeline_scale: {"storage-writer": 3, ...}
        pipeline_apps_dir, pipeline_image_cache, pipeline_stack, pipeline_reservations,
        pipeline_rollout_timeout_s
    """
    settings = Settings.from_host(host)
    if members("marathon"):
        if host.name == members("marathon")[0].name:
            submit_to_marathon(settings)
    elif members(MANAGERS):
        if set(host.groups) & {MANAGERS, WORKERS}:
            run_on_swarm(settings)
    else:
        raise DeployError("pipeline apps: the inventory has no engine to run them on: "
                          "a marathon group, or swarm_manager hosts")

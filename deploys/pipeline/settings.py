"""The pipeline deploy's settings: where the definitions and images come from, scaling,
the apps' env, and the Swarm stack's name, reservations and rollout timeout."""
from pydantic import Field, model_validator

from shared.paths import CACHE
from deploys.settings import ComponentSettings, secret
from deploys.swarm import MANAGERS, WORKERS
from marathon import apps as app_defs


class Settings(ComponentSettings):
    groups = (MANAGERS, WORKERS, "marathon")

    # where the definitions are read; tests point it at their own
    pipeline_apps_dir: str = str(app_defs.APPS_DIR)
    # repository -> tag of the images to run (./bigdata up passes what it built:
    # ctl.images.pipeline_images()); a repository not named keeps the definition's tag
    pipeline_image_tags: dict[str, str] = {}
    # app name -> instances, over the definitions' (like `python -m marathon.submit --scale`)
    pipeline_scale: dict[str, int] = {}
    # app name -> environment over the definition's (e.g. {"producer": {"BIGDATA_PRODUCER_RATE": "100"}})
    pipeline_env: dict[str, dict[str, str]] = {}
    # `docker save` tarballs on the control machine, one per image id
    pipeline_image_cache: str = str(CACHE / "images")
    # Swarm: the stack the apps form (services are <stack>_<app>)
    pipeline_stack: str = Field("bigdata", pattern=r"^[a-z0-9][a-z0-9-]*$")
    # Swarm: reserve each app's cpus/mem as well as limit them (the scheduler then places a
    # task only where they are free; off by default: the six apps would reserve 4.5 of one node's cores)
    pipeline_reservations: bool = False
    # Swarm: how long a rollout may take before the deploy fails (new tasks start, pass their
    # health checks, then Swarm watches them for the update's monitor period)
    pipeline_rollout_timeout_s: int = Field(900, ge=60)
    # the token of the producer's control requests (POST/DELETE /<symbol>): a Swarm secret of the producer app
    producer_token: str = secret("BIGDATA_PRODUCER_TOKEN", min_length=16)

    @model_validator(mode="after")
    def _check(self):
        for name, instances in self.pipeline_scale.items():
            if instances < 0:
                raise ValueError(f"pipeline_scale: {name}: {instances} instances")
        return self

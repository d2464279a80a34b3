"""Spark: not written yet (in progress)."""
from pyinfra.api import deploy

from deploys.settings import ComponentSettings


class Settings(ComponentSettings):
    groups = ("spark_master", "spark_worker")


@deploy("Spark", data_defaults=Settings.defaults())
def install_spark():
    """Not written yet: does nothing."""

"""Zookeeper: not written yet (in progress)."""
from pyinfra.api import deploy

from deploys.settings import ComponentSettings


class Settings(ComponentSettings):
    groups = ("zookeeper",)


@deploy("Zookeeper", data_defaults=Settings.defaults())
def install_zookeeper():
    """Not written yet: does nothing."""

"""Cassandra: not written yet (in progress)."""
from pyinfra.api import deploy

from deploys.settings import ComponentSettings


class Settings(ComponentSettings):
    groups = ("cassandra",)


@deploy("Cassandra", data_defaults=Settings.defaults())
def install_cassandra():
    """Not written yet: does nothing."""

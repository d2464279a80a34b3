"""Kafka: not written yet (in progress)."""
from pyinfra.api import deploy

from deploys.settings import ComponentSettings


class Settings(ComponentSettings):
    groups = ("kafka",)


@deploy("Kafka", data_defaults=Settings.defaults())
def install_kafka():
    """Not written yet: does nothing."""

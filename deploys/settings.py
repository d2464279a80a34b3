"""The base of every component's settings model: each deploy's `Settings` holds its
inventory keys with their defaults, types and checks (deploys/inventory.py checks an
inventory against all of them before pyinfra touches any host)."""
from __future__ import annotations

from typing import Annotated, Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field

# A TCP port setting (a name ending in _port: the inventory check refuses two on one host)
Port = Annotated[int, Field(ge=1, le=65535)]


def secret_hint(env: str) -> str:
    """What the inventory check says of a missing secret."""
    return f"a secret: set {env} in the environment or in inventories/secrets.env"


def secret(env: str, **constraints) -> Any:
    """A required secret setting: group_data reads it from `env` (shared.secrets.secret), and
    the inventory check names `env` when it is missing."""
    return Field(description=secret_hint(env), **constraints)


class ComponentSettings(BaseModel):
    """Base of each deploy's settings: the field defaults are the platform's defaults."""

    model_config = ConfigDict(extra="ignore", frozen=True)
    # inventory groups whose hosts this component's settings apply to ("all": every host)
    groups: ClassVar[tuple[str, ...]] = ("all",)

    @classmethod
    def defaults(cls) -> dict[str, Any]:
        """The `data_defaults` of the component's deploy (required fields have none)."""
        return {name: f.get_default(call_default_factory=True)
                for name, f in cls.model_fields.items() if not f.is_required()}

    @classmethod
    def from_host(cls, host) -> "ComponentSettings":
        return cls.from_values(host.data)

    @classmethod
    def from_values(cls, values) -> "ComponentSettings":
        """The settings of a host whose inventory data is `values` (a mapping, or pyinfra's host.data)."""
        return cls(**{key: values.get(key) for key in cls.model_fields if values.get(key) is not None})

    def cluster_problems(self, group_sizes: dict[str, int]) -> list[tuple[str, str]]:
        """(key, message) for values that cannot work with this inventory's shape,
        e.g. a replication factor above the node count. Components override it."""
        return []

    @classmethod
    def ports(cls, values: "ComponentSettings") -> dict[str, int]:
        return {k: v for k, v in values.model_dump().items() if k.endswith("_port") and isinstance(v, int)}

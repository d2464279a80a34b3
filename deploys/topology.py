"""Who is who in the cluster: a host's address, its group's members, its node id."""
from pyinfra import host, inventory


def address(member=None) -> str:
    """How other hosts reach this one: `address` in its data, else its inventory name."""
    member = host if member is None else member
    return member.data.get("address") or member.name


def members(group: str) -> list:
    """The hosts of a group, in inventory order (stable: node ids derive from it)."""
    return list(inventory.get_group(group, []))


def node_id(group: str, member=None) -> int:
    """1-based position of the host in its group (ZooKeeper myid, Kafka node.id)."""
    member = host if member is None else member
    return [m.name for m in members(group)].index(member.name) + 1

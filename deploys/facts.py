"""Facts the deploys share, beyond pyinfra's own."""
from pyinfra.api import FactBase


class OpenFilesCeiling(FactBase):
    """The hard open-files limit of PID 1: no unit on the host can get more
    (inside a container without CAP_SYS_RESOURCE it is the container's cap)."""

    def command(self) -> str:
        return "awk '/^Max open files/ {print $5}' /proc/1/limits"

    def process(self, output):
        value = output[0].strip() if output else ""
        return None if value in ("", "unlimited") else int(value)


class FirstLine(FactBase):
    """A fact whose value is the first line its command prints; None when it prints nothing."""

    def process(self, output):
        value = output[0].strip() if output else ""
        return value or None


class ResolvedAddress(FirstLine):
    """The IPv4 address a name resolves to on the host (services bind to it)."""

    def command(self, hostname: str) -> str:
        return f"getent ahostsv4 {hostname} | awk 'NR==1 {{print $1}}'"


class MemoryMb(FactBase):
    """Total memory in MB, from /proc/meminfo: the one memory reading the deploys size
    heaps by. Not pyinfra's `hardware.Memory`: that one needs `vmstat` (procps), which a
    fresh host may lack while a run plans, so it could size a heap differently on the
    first run than on the second; awk and /proc are always there."""

    def command(self) -> str:
        return "awk '/^MemTotal:/ {print int($2 / 1024)}' /proc/meminfo"

    def process(self, output):
        value = output[0].strip() if output else ""
        return int(value) if value.isdigit() else None

"""Live progress of a pyinfra run, from pyinfra's own state callbacks: one JSON line
per event in the file BIGDATA_PROGRESS_FILE names (`./bigdata` renders it). A deploy
file calls `report()` first; without that variable nothing is written.

    {"event": "start", "n": 12, "total": 119, "name": "Kafka | Install the broker"}
    {"event": "end", "n": 12, "total": 119, "name": "...", "changed": 1, "unchanged": 0, "failed": 0}
"""
import json
import os
import time

from pyinfra import state
from pyinfra.api.state import BaseStateCallback

PROGRESS_ENV = "BIGDATA_PROGRESS_FILE"


class JsonLines(BaseStateCallback):
    def __init__(self, path: str):
        self.out = open(path, "a", buffering=1)  # a line each: the reader sees it at once
        self.order: list[str] = []

    def _write(self, **event) -> None:
        self.out.write(json.dumps({"at": time.time(), **event}) + "\n")

    def _position(self, run_state, op_hash) -> dict:
        if op_hash not in self.order:  # the order is known once every host's operations are planned
            self.order = list(run_state.get_op_order())
        names = sorted(run_state.get_op_meta(op_hash).names)
        return {"n": self.order.index(op_hash) + 1 if op_hash in self.order else None,
                "total": len(self.order), "name": names[0] if names else "operation"}

    def host_connect(self, run_state, host):
        self._write(event="connect", host=host.name)

    def operation_start(self, run_state, op_hash):
        self._write(event="start", **self._position(run_state, op_hash))

    def operation_end(self, run_state, op_hash):
        outcome = {"changed": 0, "unchanged": 0, "failed": 0}
        for host in run_state.inventory.iter_activated_hosts():
            operation = run_state.ops[host].get(op_hash)
            if operation is None:
                continue
            meta = operation.operation_meta
            if meta.is_complete():
                outcome["changed" if meta.did_change() else "failed" if meta.did_error() else "unchanged"] += 1
        self._write(event="end", **self._position(run_state, op_hash), **outcome)

    def operation_host_error(self, run_state, host, op_hash, retry_count=0, max_retries=0):
        self._write(event="error", host=host.name, **self._position(run_state, op_hash))


def report() -> None:
    """Write this run's progress events where BIGDATA_PROGRESS_FILE says (once per run)."""
    path = os.environ.get(PROGRESS_ENV)
    if path and not any(isinstance(handler, JsonLines) for handler in state.callback_handlers):
        state.add_callback_handler(JsonLines(path))

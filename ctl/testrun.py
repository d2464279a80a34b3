"""`./bigdata test`: the quick tiers first and alone, so a broken unit fails the run in
seconds; then the slow tiers in two lanes at once, one pytest process per platform shape
(tests/conftest.py keeps each lane's tests: the three-node rig's in one, the rest, with
the one-node rig, in the other). Much of a rig's time is spent waiting for JVMs and rings
to settle; on two cores the lanes still slow each other's deploys down (measured: the two
lanes take about five sixths of one process's time, README "Measurements").

Each lane's output goes to the terminal line by line, prefixed with the lane, and whole to
.run/logs/test-<lane>.log; each lane ends with its own summary and slowest tests, and
leaves every test's time in .run/logs/test-<lane>.xml (JUnit XML: what balancing the lanes reads).
"""
import os
import signal
import subprocess
import sys
import threading
import time
import xml.etree.ElementTree as ET

from ctl import ROOT, RUN
from ctl.console import say

QUICK_TIERS = ["tests/unit", "tests/mirror"]
SLOW_TIERS = ["tests/images", "tests/cluster", "tests/services", "tests/e2e"]
LANE_ENV = "BIGDATA_TEST_LANE"  # tests/conftest.py: run only this lane's tests
ONE_NODE_LANE, THREE_NODE_LANE = "one-node", "three-node"
LANES = (ONE_NODE_LANE, THREE_NODE_LANE)


def pytest(*args: str, env: dict[str, str] | None = None, **popen) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "pytest", *args], cwd=ROOT,
                            env={**os.environ, **(env or {})}, **popen)


def run(pytest_args: list[str]) -> int:
    """Every tier, or, given pytest's arguments, exactly those in one process."""
    started = time.monotonic()
    if pytest_args:
        code = _wait([pytest(*pytest_args)])
    else:
        say("running the quick tiers: " + " ".join(QUICK_TIERS))
        code = _wait([pytest(*QUICK_TIERS)])
        if not code:
            code = lanes()
    say(f"./bigdata test finished in {time.monotonic() - started:.0f}s with exit code {code}")
    return code


def lanes() -> int:
    """The slow tiers, one process per lane at once; the first failing lane's exit code."""
    logs = RUN / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    say(f"running the slow tiers in lanes {', '.join(LANES)} at once: {' '.join(SLOW_TIERS)} "
        f"(each lane's whole output: {logs}/test-<lane>.log)")
    processes, copiers = [], []
    for lane in LANES:
        process = pytest("-v", f"--junitxml={logs}/test-{lane}.xml", *SLOW_TIERS,
                         env={LANE_ENV: lane, "PYTHONUNBUFFERED": "1"},
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, bufsize=1)
        processes.append(process)
        copiers.append(threading.Thread(target=_copy, args=(process, lane, logs / f"test-{lane}.log"), daemon=True))
        copiers[-1].start()
    code = _wait(processes)
    for copier in copiers:
        copier.join()
    say(f"the slowest {SLOWEST} tests of both lanes (setup, call and teardown):")
    for seconds, lane, test in slowest([logs / f"test-{lane}.xml" for lane in LANES]):
        say(f"  {seconds:7.1f}s  [{lane}] {test}")
    return code


SLOWEST = 15


def slowest(reports, n: int = SLOWEST) -> list[tuple[float, str, str]]:
    """(seconds, lane, test) of the n slowest tests in the lanes' JUnit XML reports, slowest
    first; a lane that left no report (killed before its end) is left out."""
    found = []
    for report in reports:
        try:
            cases = ET.parse(report).iter("testcase")
        except (OSError, ET.ParseError):
            continue
        lane = report.stem.removeprefix("test-")
        found += [(float(case.get("time", 0)), lane, f"{case.get('classname')}::{case.get('name')}") for case in cases]
    return sorted(found, reverse=True)[:n]


def _copy(process: subprocess.Popen, lane: str, log) -> None:
    with open(log, "w") as whole:
        for line in process.stdout:
            whole.write(line)
            if line.strip():
                sys.stdout.write(f"[{lane}] {line}")
                sys.stdout.flush()


def _wait(processes: list[subprocess.Popen]) -> int:
    """Wait for every process. A SIGTERM (a CI timeout, `kill`) is passed on to them, and
    their test rigs unwind from it (removing their hosts); Ctrl-C reaches them from the
    terminal itself, so it is only waited out here."""
    def stop(signum, frame):
        for process in processes:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)

    previous = {signal.SIGTERM: signal.signal(signal.SIGTERM, stop),
                signal.SIGINT: signal.signal(signal.SIGINT, signal.SIG_IGN)}
    try:
        codes = [process.wait() for process in processes]
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    return next((code for code in codes if code), 0)

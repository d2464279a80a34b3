"""The dashboard's fan-out: how many Socket.IO clients one dashboard process serves, and
what they add to the latency of the records it forwards.

    .venv/bin/python -m bench.dashboard_fanout [--clients 1000] [--per-process 250]
                                               [--symbols-per-client 4] [--rate 50]
                                               [--duration 20] [--channel live]

Against the running one-node platform's Redis and Cassandra (container `bigdata`,
secrets from inventories/secrets.env; its own pipeline apps paused for the run, started
again after: nothing else publishes or computes meanwhile), the bench starts its own dashboard here
(`python -m services.dashboard`, as the services' tests do) and its clients in other
processes: python-socketio clients over WebSocket, gevent-patched, --per-process
clients in each (`python -m bench.dashboard_fanout worker ...`). Client i subscribes to
--symbols-per-client of 50 bench-only symbols (round robin), as a page shows a few.

The bench publishes records (analytics records, as the live lane's: `provisional`,
`published_at`, plus the bench's `seq` and `sent_ns`) on the Redis channel at --rate
records/s over the 50 symbols, and every client takes `now - sent_ns` of each one it
receives (the same machine's clock). Two phases, same rate and duration, in one run:

1. the baseline: one client alone (what Redis, the dashboard's forwarding and one
   WebSocket cost);
2. --clients more clients (the baseline's client still there).

Reported: clients connected, clients missing events (any record of their symbols
published during phase 2 not received), latency p50/p90/p99 of each phase and what
phase 2 adds over the baseline, and the dashboard's RSS with one client and with all.
The clients share this machine's cores with the dashboard (2 here): their own
scheduling is part of what phase 2 adds. Takes the heavy-work lock itself.
"""
from __future__ import annotations

import argparse
import json
import sys
import time

SYMBOLS = 50
PIPELINE_APPS = ("producer", "storage-writer", "stream-processor", "redis-publisher", "live-lane", "dashboard")


# --- a worker: many clients in one gevent-patched process -------------------------------

def worker(argv: list[str]) -> int:
    """Clients over WebSocket, each subscribed to its symbols; commands on stdin:

        report FIRST LAST WAIT   wait up to WAIT s until every client has every seq in
                                 FIRST..LAST of its symbols, then print a JSON report
        quit

    Prints {"event": "ready", "connected": n, "failed": n, "error": ...} once connected."""
    from gevent import monkey
    monkey.patch_all()
    import gevent
    import gevent.pool
    import socketio
    from gevent.fileobject import FileObjectPosix

    parser = argparse.ArgumentParser(prog="bench.dashboard_fanout worker")
    parser.add_argument("--url", required=True)
    parser.add_argument("--symbols", required=True, help="comma-separated")
    parser.add_argument("--clients", type=int, required=True)
    parser.add_argument("--first", type=int, default=0, help="index of the first client (round robin)")
    parser.add_argument("--per-client", type=int, default=1)
    parser.add_argument("--event", default="live")
    parser.add_argument("--connect-concurrency", type=int, default=50)
    args = parser.parse_args(argv)
    symbols = args.symbols.split(",")

    class Client:
        def __init__(self, index: int):
            self.symbols = [symbols[(index + j) % len(symbols)] for j in range(min(args.per_client, len(symbols)))]
            self.seen: dict[str, set] = {s: set() for s in self.symbols}
            self.latencies: list[tuple[int, float]] = []  # (seq, ms)
            self.sio = socketio.Client(reconnection=False)
            self.sio.on(args.event, self.record)
            self.ok = False

        def record(self, data):
            now = time.time_ns()
            seen = self.seen.get(data.get("symbol"))
            if seen is not None and "seq" in data:
                seen.add(data["seq"])
                self.latencies.append((data["seq"], (now - data["sent_ns"]) / 1e6))

        def connect(self):
            self.sio.connect(args.url, transports=["websocket"], wait_timeout=60)
            for symbol in self.symbols:
                reply = self.sio.call("subscribe", {"symbol": symbol}, timeout=120)
                if reply != {"symbol": symbol}:
                    raise RuntimeError(f"subscribe {symbol}: {reply}")
            self.ok = True

        def complete(self, first: int, last: int) -> bool:
            return all(all(seq in seen for seq in range(first, last + 1)) for seen in self.seen.values())

    clients = [Client(args.first + i) for i in range(args.clients)]
    errors: list[str] = []

    def connect(client):
        try:
            client.connect()
        except Exception as error:  # counted, reported: the bench goes on with the others
            errors.append(f"{type(error).__name__}: {error}")

    pool = gevent.pool.Pool(args.connect_concurrency)
    started = time.monotonic()
    pool.map(connect, clients)
    connected = [c for c in clients if c.ok]
    print(json.dumps({"event": "ready", "connected": len(connected), "failed": len(clients) - len(connected),
                      "error": errors[0] if errors else None, "connect_s": round(time.monotonic() - started, 2)}),
          flush=True)

    stdin = FileObjectPosix(sys.stdin.fileno(), "r", close=False)  # waits cooperatively: the clients go on
    for line in stdin:
        command = line.split()
        if not command:
            continue
        if command[0] == "quit":
            break
        if command[0] == "report":
            first, last, wait = int(command[1]), int(command[2]), float(command[3])
            deadline = time.monotonic() + wait
            while time.monotonic() < deadline and not all(c.complete(first, last) for c in connected):
                gevent.sleep(0.1)
            latencies = [ms for c in connected for seq, ms in c.latencies if first <= seq <= last]
            missing = [c for c in connected if not c.complete(first, last)]
            print(json.dumps({"event": "report", "connected": len(connected), "missing_clients": len(missing),
                              "still_connected": sum(1 for c in connected if c.sio.connected),
                              "received": len(latencies), "latencies_ms": [round(ms, 2) for ms in latencies]}),
                  flush=True)
    for client in connected:
        try:
            client.sio.disconnect()
        except Exception:
            pass
    return 0


class Workers:
    """Worker processes (each --per-process clients), driven over their stdin/stdout."""

    def __init__(self, url: str, symbols: list[str], clients: int, per_process: int, per_client: int,
                 event: str, first: int = 0):
        import subprocess
        from ctl import ROOT
        self.processes = []
        for start in range(0, clients, per_process):
            count = min(per_process, clients - start)
            self.processes.append(subprocess.Popen(
                [sys.executable, "-m", "bench.dashboard_fanout", "worker", "--url", url, "--symbols", ",".join(symbols),
                 "--clients", str(count), "--first", str(first + start), "--per-client", str(per_client),
                 "--event", event], cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True))

    def _read(self, process, event: str) -> dict:
        for line in process.stdout:
            try:
                message = json.loads(line)
            except ValueError:
                continue
            if message.get("event") == event:
                return message
        raise RuntimeError(f"a worker exited ({process.wait()}) before its {event}")

    def ready(self) -> dict:
        replies = [self._read(p, "ready") for p in self.processes]
        return {"connected": sum(r["connected"] for r in replies), "failed": sum(r["failed"] for r in replies),
                "errors": [r["error"] for r in replies if r["error"]],
                "connect_s": max(r["connect_s"] for r in replies)}

    def report(self, first: int, last: int, wait: float) -> dict:
        for process in self.processes:
            process.stdin.write(f"report {first} {last} {wait}\n")
            process.stdin.flush()
        replies = [self._read(p, "report") for p in self.processes]
        return {"connected": sum(r["connected"] for r in replies),
                "missing_clients": sum(r["missing_clients"] for r in replies),
                "still_connected": sum(r["still_connected"] for r in replies),
                "latencies_ms": [ms for r in replies for ms in r["latencies_ms"]]}

    def close(self) -> None:
        for process in self.processes:
            try:
                process.stdin.write("quit\n")
                process.stdin.close()
            except OSError:
                pass
        for process in self.processes:
            try:
                process.wait(30)
            except Exception:
                process.kill()


# --- the bench --------------------------------------------------------------------------

def record(symbol: str, seq: int, now_ms: int) -> dict:
    """A live-lane record (an analytics record, provisional), with the bench's seq and send time."""
    start = now_ms - now_ms % 1000
    return {"symbol": symbol, "window": "1s", "window_start": start, "window_end": start + 1000,
            "open": 100.0, "high": 101.0, "low": 99.5, "close": 100.5, "average": 100.4, "vwap": 100.45,
            "volume": 1200, "count": seq, "last_trade_time": now_ms - 5, "provisional": True, "published_at": now_ms,
            "seq": seq, "sent_ns": time.time_ns()}


def publish(redis, channel: str, symbols: list[str], seqs: range, rate: float) -> None:
    """Each seq once for every symbol, --rate records/s over all symbols, evenly."""
    gap = 1 / rate
    next_at = time.monotonic()
    for seq in seqs:
        for symbol in symbols:
            delay = next_at - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            value = record(symbol, seq, time.time_ns() // 1_000_000)
            redis.publish(channel, json.dumps(value, separators=(",", ":")))
            next_at += gap


def rss_mb(pid: int) -> float:
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def cpu_s(pid: int) -> float:
    """User + system CPU seconds of a process so far."""
    import os
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def quantiles(values: list[float]) -> dict:
    values = sorted(values)
    if not values:
        return {"count": 0}
    at = lambda q: values[min(len(values) - 1, int(q * len(values)))]  # noqa: E731
    return {"count": len(values), "p50": at(0.5), "p90": at(0.9), "p99": at(0.99), "max": values[-1]}


def line(name: str, q: dict) -> str:
    if not q.get("count"):
        return f"  {name:<34} no records"
    return (f"  {name:<34} p50 {q['p50']:7.1f} ms  p90 {q['p90']:7.1f} ms  p99 {q['p99']:7.1f} ms  "
            f"max {q['max']:7.1f} ms  ({q['count']:,} deliveries)")


def main() -> int:
    if len(sys.argv) > 1 and sys.argv[1] == "worker":
        return worker(sys.argv[2:])
    import uuid

    from bench import platform
    from services.core import clients
    from shared import names

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=1000, help="clients of phase 2")
    parser.add_argument("--per-process", type=int, default=250, help="clients per worker process")
    parser.add_argument("--symbols-per-client", type=int, default=4)
    parser.add_argument("--rate", type=float, default=50, help="records/s published over the 50 symbols")
    parser.add_argument("--duration", type=float, default=20, help="seconds published in each phase")
    parser.add_argument("--channel", choices=("live", "analytics"), default="live")
    args, backends = platform.arguments(parser)
    channel = {"live": names.LIVE_CHANNEL, "analytics": names.ANALYTICS_CHANNEL}[args.channel]
    run = uuid.uuid4().hex[:6].upper()
    symbols = [f"BF{run}{i:02d}" for i in range(SYMBOLS)]
    per_phase = max(1, round(args.duration * args.rate / SYMBOLS))  # seqs per symbol in a phase
    work = platform.run_dir("dashboard-fanout")
    results = {}
    # the platform's own pipeline apps are paused for the run: nothing else on the channel or the cores
    with platform.heavy_lock(), platform.paused_apps(backends, *PIPELINE_APPS):
        dashboard = platform.ServiceProcess("services.dashboard", {**backends.env, "BIGDATA_LOG_LEVEL": "WARNING"},
                                            work / "dashboard.log")
        redis = clients.redis_client(backends.settings)
        baseline = crowd = None
        try:
            dashboard.start().wait_running(120)
            health = dashboard.health()
            print(f"dashboard pid {dashboard.process.pid} on :{dashboard.port} ({health.get('async_mode')}, "
                  f"{health.get('server')}, Cassandra {health.get('cassandra_connection')}); "
                  f"RSS {rss_mb(dashboard.process.pid):.0f} MB idle [{platform.load()}]", flush=True)
            url = f"http://127.0.0.1:{dashboard.port}"
            baseline = Workers(url, symbols, 1, 1, args.symbols_per_client, args.channel)
            baseline.ready()
            publish(redis, channel, symbols, range(1, 3), args.rate)  # warm-up
            baseline.report(1, 2, 10)
            print(f"phase 1: one client, {per_phase} records per symbol at {args.rate:g}/s [{platform.load()}]",
                  flush=True)
            first = 10
            publish(redis, channel, symbols, range(first, first + per_phase), args.rate)
            results["baseline"] = baseline.report(first, first + per_phase - 1, 30)
            results["rss_one"] = rss_mb(dashboard.process.pid)

            began = time.monotonic()
            crowd = Workers(url, symbols, args.clients, args.per_process, args.symbols_per_client, args.channel,
                            first=1)
            ready = crowd.ready()
            print(f"phase 2: {ready['connected']} of {args.clients} clients connected in "
                  f"{time.monotonic() - began:.1f}s ({ready['failed']} failed{': ' + ready['errors'][0] if ready['errors'] else ''}); "
                  f"dashboard clients {dashboard.health().get('clients')}; RSS {rss_mb(dashboard.process.pid):.0f} MB "
                  f"[{platform.load()}]", flush=True)
            publish(redis, channel, symbols, range(1000, 1002), args.rate)  # warm-up
            crowd.report(1000, 1001, 30)
            baseline.report(1000, 1001, 10)
            first = 2000
            pids = [dashboard.process.pid] + [p.pid for p in crowd.processes]
            cpu_before, began = [cpu_s(pid) for pid in pids], time.monotonic()
            publish(redis, channel, symbols, range(first, first + per_phase), args.rate)
            elapsed = time.monotonic() - began
            cpu = [(cpu_s(pid) - before) / elapsed for pid, before in zip(pids, cpu_before)]
            results["cpu"] = {"dashboard": cpu[0], "clients": sum(cpu[1:])}
            results["rss_all"] = rss_mb(dashboard.process.pid)
            results["crowd"] = crowd.report(first, first + per_phase - 1, 60)
            # until every delivery was made: the CPU each took, wherever the time went
            elapsed = time.monotonic() - began
            results["cpu_total"] = [(cpu_s(pid) - before) for pid, before in zip(pids, cpu_before)]
            results["drained_s"] = elapsed
            results["baseline_during"] = baseline.report(first, first + per_phase - 1, 10)
            results["ready"] = ready
            results["health"] = dashboard.health()
            results["load"] = platform.load()
        finally:
            for group in (crowd, baseline):
                if group is not None:
                    group.close()
            if dashboard.process is not None and dashboard.process.poll() is None:
                code = dashboard.terminate(60)
                print(f"dashboard stopped: exit {code}")
            redis.close()

    base = quantiles(results["baseline"]["latencies_ms"])
    crowd_q = quantiles(results["crowd"]["latencies_ms"])
    during = quantiles(results["baseline_during"]["latencies_ms"])
    crowd = results["crowd"]
    print(f"\nfan-out of {args.channel} records, {args.rate:g} records/s over {SYMBOLS} symbols, "
          f"{args.symbols_per_client} symbols per client, {args.duration:g} s per phase:")
    print(f"  clients connected                  {results['ready']['connected']} of {args.clients} "
          f"({results['ready']['failed']} failed; {crowd['still_connected']} still connected at the end)")
    print(f"  clients missing events             {crowd['missing_clients']}")
    print(line("phase 1: one client", base))
    print(line(f"phase 2: {args.clients} clients", crowd_q))
    print(line("phase 2: the baseline's client", during))
    if base.get("count") and crowd_q.get("count"):
        print(f"  added over the baseline            p50 {crowd_q['p50'] - base['p50']:+.1f} ms  "
              f"p99 {crowd_q['p99'] - base['p99']:+.1f} ms")
    print(f"  dashboard RSS                      {results['rss_one']:.0f} MB with one client, "
          f"{results['rss_all']:.0f} MB with {results['ready']['connected'] + 1}")
    print(f"  CPU while publishing phase 2       dashboard {results['cpu']['dashboard']:.0%} of a core, "
          f"the client processes {results['cpu']['clients']:.0%}")
    deliveries = len(results["crowd"]["latencies_ms"])
    if deliveries:
        total = results["cpu_total"]
        print(f"  CPU per 1000 deliveries            dashboard {1000 * total[0] / deliveries * 1000:.0f} ms, "
              f"clients {1000 * sum(total[1:]) / deliveries * 1000:.0f} ms (publishing and draining took "
              f"{results['drained_s']:.1f} s for {args.duration:g} s of records)")
    print(f"  dashboard counters                 {results['health'].get('counters')}")
    print(f"  {results['load']}")
    print(f"\nlogs: {work}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""What a page open costs the dashboard: reading a symbol's recent ticks from Cassandra
and aggregating them to 1-minute candles (services/dashboard/history.py).

    .venv/bin/python -m bench.dashboard_history [--ticks 144000] [--minutes 120] [--repeat 3]

Against the running one-node platform (container `bigdata`): writes --ticks ticks of one
bench-only symbol spread evenly over the last --minutes (the default: the producer's
default 1000 ticks/s over 50 symbols, 20 a second per symbol, for 2 hours), then times
History.ticks (the bounded per-day queries) and History.candles (the same, aggregated)
--repeat times; deletes the symbol's rows at the end. Takes the heavy-work lock itself.
"""
from __future__ import annotations

import argparse
import statistics
import time
import uuid
from datetime import datetime, timezone

from bench import platform
from services.core import clients
from shared import names
from services.dashboard.history import History, days_between


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--ticks", type=int, default=144_000)
    parser.add_argument("--minutes", type=int, default=120)
    parser.add_argument("--repeat", type=int, default=3)
    args, backends = platform.arguments(parser)
    from cassandra.concurrent import execute_concurrent_with_args

    symbol = f"B{uuid.uuid4().hex[:7].upper()}"
    with platform.heavy_lock():
        session = clients.cassandra_session(backends.settings)
        now = int(time.time() * 1000)
        span = args.minutes * 60_000
        insert = session.prepare(f"INSERT INTO {names.KEYSPACE}.{names.TICKS_TABLE} (symbol, day, trade_time, "
                                 f"tick_id, price, currency, volume, source) VALUES (?, ?, ?, ?, ?, 'USD', ?, 'synthetic')")
        rows = []
        for n in range(args.ticks):
            when = datetime.fromtimestamp((now - span + n * span // args.ticks) / 1000, tz=timezone.utc)
            rows.append((symbol, when.date(), when, f"synthetic-bench-{n}", 100 + (n % 500) / 100, 100))
        began = time.monotonic()
        execute_concurrent_with_args(session, insert, rows, concurrency=64, raise_on_first_error=True)
        print(f"{args.ticks} ticks of {symbol} written in {time.monotonic() - began:.1f}s")
        try:
            history = History(session, args.minutes, max_ticks=10 * args.ticks)
            for name, call in (("read", history.ticks), ("read + candles", history.candles)):
                times = []
                for _ in range(args.repeat):
                    began = time.monotonic()
                    result = call(symbol)
                    times.append(time.monotonic() - began)
                print(f"{name}: {len(result)} {'candles' if name != 'read' else 'ticks'}; "
                      f"median {statistics.median(times):.2f}s over {args.repeat} (min {min(times):.2f}s) "
                      f"[{platform.load()}]")
        finally:
            for day in days_between(now - span, now):
                session.execute(f"DELETE FROM {names.KEYSPACE}.{names.TICKS_TABLE} WHERE symbol = %s AND day = %s",
                                (symbol, day))
            session.cluster.shutdown()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

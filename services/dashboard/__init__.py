"""The dashboard: live analytics in the browser.

    python -m services.dashboard

Served by gevent (Flask-SocketIO's gevent mode on gevent's WSGI server, WebSocket through
simple-websocket, long-polling as the fallback; __main__ monkey-patches before anything
else, so redis-py and the Cassandra driver, on its gevent reactor, are cooperative too):
one process, one greenlet per connection, thousands of pages.

Subscribes (one pub/sub connection) to the Redis channels `names.ANALYTICS_CHANNEL`
(Spark's records) and `names.LIVE_CHANNEL` (the live lane's provisional values of the
open windows) and pushes each valid record over Socket.IO to the pages showing its
symbol (a room per symbol), as the event `analytics` or `live`. A page that subscribes
to a symbol first gets a snapshot: the newest record of each window (the hashes
`names.LATEST_KEY_PREFIX + symbol` as `latest`, `names.LIVE_KEY_PREFIX + symbol` as
`live`) and the recent history as 1-minute candles from Cassandra (`stocks.ticks`; a
few reads at a time, shared by the pages opening the same symbol within 2 s).

The page (static/) draws candles (1 min, or 1 s built from the records received) with
volume bars, average and VWAP lines; the forming candle and the price from the live lane
at once, replaced by Spark's record of the window (greater count wins; at equal count
Spark's; a provisional record never replaces a final one of equal or greater count);
provisional candles hollow, final ones solid; each lane's latency (now - last_trade_time,
rolling median); price alerts kept in the browser. Its libraries are vendored from npm
at build time (ctl/frontend.py), never loaded from a CDN. HTTP and Socket.IO share one
port (8050, or $PORT0), with /health (which names the async mode, the server and the
Cassandra driver's connection class).
"""

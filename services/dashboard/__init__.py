"""The dashboard: live analytics in the browser.

    python -m services.dashboard

Subscribes to the Redis channel `names.ANALYTICS_CHANNEL` and pushes each valid
analytics record over Socket.IO to the pages showing its symbol (a room per
symbol). A page that subscribes to a symbol first gets a snapshot: the newest
record of each window (the hash `names.LATEST_KEY_PREFIX + symbol`) and the recent
history as 1-minute candles from Cassandra (`stocks.ticks`). The page (static/)
draws a candlestick chart with average and VWAP lines, the live price, and the
end-to-end latency (now - last_trade_time of the newest record). Its libraries are
vendored from npm at build time (ctl/frontend.py), never loaded from a CDN.
HTTP and Socket.IO share one port (8050, or $PORT0), with /health.
"""

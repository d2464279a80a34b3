"""The live lane: the open windows of every symbol, pushed at once.

    python -m services.live_lane

Reads `names.TICKS_TOPIC` in its own consumer group (BIGDATA_LANE_GROUP) with short
fetch waits, checks each tick with the same `validate()` as the storage writer (which
owns the dead letters: here a refused tick is only counted), keeps every symbol's open
windows (BIGDATA_LANE_WINDOWS: OHLC, average, VWAP, volume, count) in memory, and every
BIGDATA_LANE_INTERVAL_MS publishes the changed ones, conflated, marked
`"provisional": true`, on `names.LIVE_CHANNEL` and in the hash
`names.LIVE_KEY_PREFIX + symbol`: never on Spark's channel or keys, so a provisional
value never blocks or overwrites a final one.
"""

"""The bottom layer: what every other part of the bundle agrees on and nothing else.
Names (topics, keyspace, users), secrets, where caches and run state live, and how a
local host is named. It imports nothing of the bundle, so anything may import it."""

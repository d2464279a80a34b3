"""Kafka records as confluent-kafka hands them to a consumer (only what the services
read), for tests that feed a service's handler directly."""
import time

NOW = int(time.time() * 1000)


class Record:
    """A consumed record as confluent-kafka hands it over (only what the writer reads)."""

    def __init__(self, offset, value, key=b"AAPL", partition=0, topic="stock-ticks", timestamp=NOW):
        self._offset, self._value, self._key = offset, value, key
        self._partition, self._topic, self._timestamp = partition, topic, timestamp

    def offset(self):
        return self._offset

    def partition(self):
        return self._partition

    def topic(self):
        return self._topic

    def key(self):
        return self._key

    def value(self):
        return self._value

    def timestamp(self):
        return (1, self._timestamp)

"""The rules every deploy shares (deploys/common): the open-files cap and heap sizing."""
import pytest

from deploys import common


class FakeHost:
    name = "node1"

    def __init__(self, ceiling):
        self.ceiling = ceiling

    def get_fact(self, fact, **kwargs):
        assert fact.__name__ == "OpenFilesCeiling"
        return self.ceiling


@pytest.mark.parametrize("ceiling, limit", [(None, 100000), (1048576, 100000), (20000, 20000)])
def test_open_files_is_the_wanted_limit_unless_the_host_caps_it(monkeypatch, ceiling, limit):
    monkeypatch.setattr(common, "host", FakeHost(ceiling))
    assert common.open_files("Kafka", 100000) == limit


def test_a_cap_is_warned_about_with_its_meaning(monkeypatch, caplog):
    monkeypatch.setattr(common, "host", FakeHost(20000))
    common.open_files("Kafka", 100000, note="enough for a few thousand partitions")
    assert "node1: Kafka gets 20000 open files, not 100000 (the host's cap): enough for a few" in caplog.text


@pytest.mark.parametrize("setting, memory_mb, expected", [
    (None, 8192, 2048), (None, 512, 256), (None, 65536, 6144), (None, None, 256), (512, 65536, 512)])
def test_heap_is_the_setting_else_a_bounded_share_of_memory(setting, memory_mb, expected):
    assert common.heap_mb(setting, memory_mb, share=4, low=256, high=6144) == expected


def test_heap_without_an_upper_bound():
    assert common.heap_mb(None, 65536, share=2, low=1024) == 32768

"""The storage writer's sorting of a batch: good ticks, dead letters, duplicates
(and redeliveries, which are not duplicates)."""
import json

from records import NOW, Record
from services.core.tick import Rules
from services.storage_writer.app import RecentIds, Writer


def tick(tick_id, symbol="AAPL", price=1.5):
    return json.dumps({"id": tick_id, "symbol": symbol, "price": price, "currency": "USD", "trade_time": NOW,
                       "volume": 1, "source": "synthetic"}).encode()


def writer(size=100):
    w = Writer.__new__(Writer)  # sorting needs no session
    w.rules, w.recent = Rules(currencies=frozenset({"USD"})), RecentIds(size)
    return w


def test_good_and_bad_records_are_sorted_in_one_pass():
    good, dead = writer().sort([Record(0, tick("a")), Record(1, b"junk"), Record(2, tick("b", price=-1)),
                                Record(3, tick("c"))])
    assert [t.id for t, _ in good] == ["a", "c"]
    assert [(d.reason, d.offset) for d in dead] == [("not_json", 1), ("bad_price", 2)]


def test_a_duplicate_id_in_the_same_batch_is_dead_lettered():
    good, dead = writer().sort([Record(0, tick("a")), Record(1, tick("a"))])
    assert [t.id for t, _ in good] == ["a"]
    assert dead[0].reason == "duplicate" and "stock-ticks/0@0" in dead[0].detail


def test_a_duplicate_of_an_earlier_batch_is_dead_lettered_but_a_redelivery_is_not():
    w = writer()
    good, _ = w.sort([Record(5, tick("a"))])
    for t, position in good:
        w.recent.remember(t.id, position)
    redelivered, dead = w.sort([Record(5, tick("a"))])  # the same record again (retry, rebalance)
    assert len(redelivered) == 1 and not dead
    duplicated, dead = w.sort([Record(9, tick("a"))])   # the same id elsewhere in the log
    assert not duplicated and dead[0].reason == "duplicate"


def test_the_recent_id_cache_is_bounded():
    recent = RecentIds(3)
    for n in range(10):
        recent.remember(str(n), ("t", 0, n))
    assert len(recent) == 3
    assert recent.seen_elsewhere("9", ("t", 0, 99)) == ("t", 0, 9)
    assert recent.seen_elsewhere("0", ("t", 0, 99)) is None  # forgotten: Cassandra's upsert covers it

"""How the Spark lane judges a record, in Spark SQL over the Kafka source's columns (no
pyspark here, so unit tests run without Spark).

How a tick is judged (the contract is services/core/tick.py's `validate()`), in Spark
SQL only, in the one scan of the batch's records (no Python per record): a record
written in the form `encode()` writes (one regular expression: the fields in order, no
white space, nothing that needs JSON's escapes) with every value inside the contract's
bounds is a tick. The checks are stricter than `validate()`'s, never looser, so whatever
passes them `validate()` accepts too, with the same values. Anything else is refused:
counted (`refused`), not dead-lettered: the storage writer, which reads every tick,
owns the dead letters (services/README.md). A valid tick in another JSON form (white
space, another field order, escapes) is stored by the writer and shown by the live lane,
but is not in this lane's windows; every producer of this project writes the form.
"""
from __future__ import annotations

from services.core.tick import ID_PATTERN, MAX_PRICE, SOURCES, SYMBOL_PATTERN, Rules


def _sql_string(text: str) -> str:
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _in(values) -> str:
    return ", ".join(_sql_string(v) for v in sorted(values))


# The fast path takes a record only in the form encode() writes (every producer of this
# project): the fields in that order, no white space, no escapes, numbers as JSON writes
# them with bounded digits. Anything else, valid or not, goes to the exact path.
_WORD = r"[A-Za-z0-9_.\-]{1,32}"                        # a currency or a source, checked by value below
_NUMBER = r"-?(0|[1-9][0-9]{0,17})(\.[0-9]{1,20})?([eE][+-]?[0-9]{1,3})?"
_INTEGER = r"(0|[1-9][0-9]{0,17})"                      # < 10^18: fits a bigint; a negative one: exact path
CANONICAL = ("^\\{" + ",".join([
    f'"id":"{ID_PATTERN.pattern[1:-1]}"', f'"symbol":"{SYMBOL_PATTERN.pattern[1:-1]}"', f'"price":{_NUMBER}',
    f'"currency":"{_WORD}"', f'"trade_time":{_INTEGER}', f'"volume":{_INTEGER}', f'"source":"{_WORD}"',
]) + "\\}\\z")
# In that form, the text split at its double quotes has each value at a fixed place
# (`{`, `id`, `:`, <id>, `,`, `symbol`, `:`, <symbol>, `,`, `price`, `:<price>,`, ...)
_PLACES = {"id": 4, "symbol": 8, "price": 11, "currency": 14, "trade_time": 17, "volume": 19, "source": 22}


def fast_path_sql(rules: Rules) -> dict[str, str]:
    """Column name -> Spark SQL expression, evaluated in this order; `fast_ok` says the
    record is a tick by checks at least as strict as validate()'s: one regular
    expression over the text (CANONICAL: nothing in it needs JSON's escapes, so the
    text's values are the values), then the values, taken from their places in the
    text, against the contract's bounds. Everything is ASCII, so the bytes are valid
    UTF-8; \\z ends the match at the very end (Java's $ would let a trailing line
    break through). The values are only read where `fast_ok` holds; elsewhere they
    are whatever the text has at those places (hence try_element_at and try_cast).
    The text is split once (`parts`): Spark keeps a column used many times as its own
    projection rather than computing it again for each use."""
    def value(name: str) -> str:
        return f"try_element_at(parts, {_PLACES[name]})"

    def number(name: str, kind: str) -> str:  # `:<number>,`
        return f"try_cast(substring({value(name)}, 2, length({value(name)}) - 2) AS {kind})"

    return {
        "text": "CAST(value AS STRING)",
        "parts": "split(text, '\"')",
        "id": value("id"), "symbol": value("symbol"), "currency": value("currency"), "source": value("source"),
        "price": number("price", "DOUBLE"), "trade_time": number("trade_time", "BIGINT"),
        "volume": number("volume", "BIGINT"),
        "reference_ms": "CASE WHEN timestampType >= 0 AND unix_millis(timestamp) > 0 THEN unix_millis(timestamp) END",
        "fast_ok": "coalesce(" + " AND ".join([
            f"octet_length(value) <= {int(rules.max_bytes)}",
            f"text RLIKE {_sql_string(CANONICAL)}",
            f"price > 0 AND price < {MAX_PRICE!r}",
            f"currency IN ({_in(rules.currencies)})",
            f"source IN ({_in(SOURCES)})",
            "reference_ms IS NOT NULL",
            f"trade_time <= reference_ms + {int(rules.max_future_ms)}",
            f"trade_time >= reference_ms - {int(rules.max_past_ms)}",
            "(key IS NULL OR key = CAST(symbol AS BINARY))",
        ]) + ", false)",
    }

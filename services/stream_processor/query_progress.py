"""What a batch did, from Spark's query progress: records read, counts per batch,
refused records (an observed metric of the scan), the summary /health and the logs show."""
from __future__ import annotations

import json


REFUSED_METRICS = "refused"  # the observed metrics of the scan: records that are not ticks


def _max_of(operators: list, key: str, metric: str | None = None) -> int:
    values = []
    for operator in operators:
        source = operator.get("customMetrics", {}) if metric else operator
        value = source.get(metric or key)
        if isinstance(value, (int, float)):
            values.append(int(value))
    return max(values, default=0)


def records_read(progress: dict) -> int:
    """Records the batch read from Kafka, from its offsets."""
    total = 0
    for source in progress.get("sources") or []:
        start, end = _offsets(source.get("startOffset")), _offsets(source.get("endOffset"))
        for topic, partitions in end.items():
            for partition, offset in partitions.items():
                before = start.get(topic, {}).get(partition)
                if before is not None and offset is not None:
                    total += max(0, int(offset) - int(before))
    return total


def _offsets(value) -> dict:
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return {}
    return value if isinstance(value, dict) else {}


def batch_counts(progress: dict) -> dict[str, int]:
    """What one micro-batch did, as counters: records read, records refused (not ticks),
    ticks dropped as late or as duplicates, windows closed. The deduplication and the aggregation
    both drop a late tick: it is counted once (the larger of their counts)."""
    counts = {"records": records_read(progress), "batches": 1}
    operators = progress.get("stateOperators") or []
    late = _max_of(operators, "numRowsDroppedByWatermark")
    if late:
        counts["late"] = late
    closed = sum(int(o.get("numRowsRemoved") or 0) for o in operators
                 if o.get("operatorName") == "stateStoreSave")
    if closed:
        counts["windows_closed"] = closed  # final: their state dropped once the watermark passed their end
    duplicates = _max_of([o for o in operators if "dedup" in o.get("operatorName", "").lower()],
                         "", "numDroppedDuplicateRows")
    if duplicates:
        counts["duplicates"] = duplicates
    refused = refused_of(progress)
    if refused:
        counts["refused"] = refused
    return counts


def refused_of(progress: dict) -> int:
    return int(((progress.get("observedMetrics") or {}).get(REFUSED_METRICS) or {}).get("refused") or 0)


def progress_summary(progress: dict | None) -> dict:
    """The last micro-batch, for /health."""
    if not progress:
        return {}
    lag = None
    for source in progress.get("sources") or []:
        behind = (source.get("metrics") or {}).get("maxOffsetsBehindLatest")
        if behind is not None:
            lag = max(lag or 0, int(float(behind)))
    event_time = progress.get("eventTime") or {}
    return {
        "batch_id": progress.get("batchId"),
        "batch_at": progress.get("timestamp"),
        "batch_duration_ms": progress.get("batchDuration"),
        "records": records_read(progress),
        "watermark": event_time.get("watermark"),
        "max_event_time": event_time.get("max"),
        "offsets_behind_latest": lag,
        "state": [{"operator": o.get("operatorName"), "rows": o.get("numRowsTotal"),
                   "removed": o.get("numRowsRemoved"), "late": o.get("numRowsDroppedByWatermark")}
                  for o in progress.get("stateOperators") or []],
        "duration_ms": progress.get("durationMs") or {},
    }


def log_fields(progress: dict) -> dict:
    """One batch, compact, for the structured log."""
    durations = progress.get("durationMs") or {}
    return {"batch_id": progress.get("batchId"), "records": records_read(progress),
            "duration_ms": durations.get("triggerExecution"),
            "watermark": (progress.get("eventTime") or {}).get("watermark"),
            "refused": refused_of(progress)}


def as_dict(progress) -> dict | None:
    """A progress as plain JSON data (pyspark's StreamingQueryProgress carries its JSON)."""
    if progress is None:
        return None
    if isinstance(progress, str):
        return json.loads(progress)
    text = getattr(progress, "json", None)
    if isinstance(text, str):
        return json.loads(text)
    return json.loads(json.dumps(progress, default=str))

"""The checkpoint's layout: a marker file in the checkpoint directory names the job's
query shape (its operators, their state, the state store). Spark cannot run a
checkpoint of another shape correctly, so the job refuses one (CHECKPOINT_REFUSAL).
Layout 2: one scan, no dead-letter branch, RocksDB state with changelog checkpoints."""

CHECKPOINT_LAYOUT = 2
LAYOUT_MARKER = f"_bigdata_layout_{CHECKPOINT_LAYOUT}"
CHECKPOINT_REFUSAL = ("checkpoint {location} was written by an earlier version of the job (another query "
                      "shape and state store) and cannot be resumed: move it away or delete it (the job then "
                      "starts at BIGDATA_STREAM_STARTING_OFFSETS), or set BIGDATA_STREAM_CHECKPOINT to a new "
                      "directory")

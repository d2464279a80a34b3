"""The pipeline: producer, storage writer, stream processor, Redis publisher,
dashboard, and the small core they share."""

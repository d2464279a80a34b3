"""The producer: ticks into Kafka (`names.TICKS_TOPIC`, key = symbol), acks=all with
the idempotent producer.

    python -m services.producer

Its source is BIGDATA_PRODUCER_SOURCE (synthetic, replay or live; see sources.py).
Over HTTP (BIGDATA_HTTP_PORT, default 8010):

    GET    /          the source and its symbols
    POST   /<symbol>  start producing a symbol (201; 200 when already there)
    DELETE /<symbol>  stop producing it (200; 404 when it was not there)
    GET    /health    state and counters (sent, acked, failed)
"""

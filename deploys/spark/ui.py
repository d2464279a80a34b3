"""The master's and workers' web UIs behind Spark's own JWSFilter: every request carries
`Authorization: Bearer <JWS>`, a JSON Web Token signed (HS256) with the UIs' key; anything
else gets 403.

The key is derived from the cluster's shared secret (HMAC-SHA256), so rotating that secret
rotates the key too and an operator keeps one secret. The deploy leaves a token signed with
it on every Spark host, root only (UI_TOKEN): the readiness check sends it, and so can an
operator (`curl -H "Authorization: Bearer $(cat /etc/bigdata/spark/ui.token)" ...`).
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import json

FILTER = "org.apache.spark.ui.JWSFilter"
# JWSFilter's parameter: Spark redacts settings named like a secret from what it shows
KEY_SETTING = f"spark.{FILTER}.param.secretKey"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def key(secret: str) -> bytes:
    """The UIs' HS256 key, 256 bits (what JWSFilter requires at least), from the cluster's secret."""
    return hmac.new(secret.encode(), b"bigdata spark ui", hashlib.sha256).digest()


def key_setting(secret: str) -> str:
    """JWSFilter's secretKey: the key, base64url-encoded."""
    return _b64(key(secret))


def token(secret: str, subject: str = "bigdata") -> str:
    """A JWS that JWSFilter accepts: `<header>.<payload>.<signature>`, HS256 over the first two."""
    signed = f"{_b64(json.dumps({'alg': 'HS256', 'typ': 'JWT'}).encode())}.{_b64(json.dumps({'sub': subject}).encode())}"
    return f"{signed}.{_b64(hmac.new(key(secret), signed.encode(), hashlib.sha256).digest())}"


def daemon_options(secret: str) -> str:
    """The Java options that put a daemon's UI behind the filter (in its root-only environment file)."""
    return f"-Dspark.ui.filters={FILTER} -D{KEY_SETTING}={key_setting(secret)}"

"""Settings for every host of every inventory in this folder.

Each deploy's defaults live in its own `Settings` (deploys/<component>/__init__.py);
set here only what differs. Secrets never go here: `secret()` reads them from the
environment or from the untracked inventories/secrets.env.
"""
from deploys.secrets import secret

redis_password = secret("BIGDATA_REDIS_PASSWORD")

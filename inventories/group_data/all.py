"""Settings for every host of every inventory in this folder.

Each deploy's defaults live in its own `Settings` (deploys/<component>/__init__.py);
set here only what differs for these inventories. Secrets never go here: they come
from the environment or from the untracked inventories/secrets.env.
"""

"""The control-machine side of the bundle: prerequisites, images, the artifact
mirror, local host containers and the `./bigdata` command line."""
from shared.paths import CACHE, ROOT, RUN

__all__ = ["CACHE", "ROOT", "RUN"]

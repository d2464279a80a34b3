"""The control-machine side of the bundle: prerequisites, images, the artifact
mirror, local host containers and the `./bigdata` command line."""
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CACHE = ROOT / ".cache"  # safe to delete; rebuilt on demand

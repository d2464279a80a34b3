"""Where the bundle's files live on the control machine."""
import os
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# Built artifacts keyed by their pinned versions (the mirror, Maven's repository,
# downloads): shared by every checkout on this machine, safe to delete.
CACHE = Path(os.environ.get("BIGDATA_CACHE") or Path.home() / ".cache" / "bigdata")
# This checkout's own run state: deploy logs.
RUN = ROOT / ".run"

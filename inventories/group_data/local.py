"""Settings for the local hosts (containers or the Vagrant VM on this machine):
no internet, so distributions come from the mirror `./bigdata mirror` builds."""
from ctl import CACHE

artifact_base_url = str(CACHE / "mirror")

"""The dashboard (see the package's docstring)."""
import sys

from services.dashboard.app import main

sys.exit(main())

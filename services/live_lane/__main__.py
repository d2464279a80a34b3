import sys

from services.live_lane.app import main

sys.exit(main())

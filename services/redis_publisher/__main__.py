import sys

from services.redis_publisher.app import main

sys.exit(main())

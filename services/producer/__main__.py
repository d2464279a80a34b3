import sys

from services.producer.app import main

sys.exit(main())

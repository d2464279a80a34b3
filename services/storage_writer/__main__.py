import sys

from services.storage_writer.app import main

sys.exit(main())

"""The dashboard (see the package's docstring). gevent's monkey-patching comes first,
before anything imports socket, ssl, threading or time: Flask-SocketIO's gevent mode,
redis-py and the Cassandra driver (which then picks its gevent reactor) all become
cooperative, one process serving thousands of WebSocket clients."""
from gevent import monkey

monkey.patch_all()

import sys  # noqa: E402

from services.dashboard.app import main  # noqa: E402

sys.exit(main())

"""A deploy with one harmless operation, for tests of the rig itself."""
from pyinfra.operations import server

from deploys.progress import report

report()
server.shell(name="Say hello", commands=["true"])

"""Cluster tests use the rig fixtures of tests/conftest.py (`platform`, `one_node`, `three_node`)."""

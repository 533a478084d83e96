"""Tests of zaplite.engine: runs, delivery, read-ahead, leases and the daemon."""

"""Reliability tests: real processes killed, daemons sharing a store, store safety."""

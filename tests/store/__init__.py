"""Tests of zaplite.store on SQLite and PostgreSQL."""

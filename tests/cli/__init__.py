"""Tests of zaplite.cli: the installed command."""

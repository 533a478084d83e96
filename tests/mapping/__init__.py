"""Tests of zaplite.mapping: templates, their compiled form and filters."""

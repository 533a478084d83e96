"""Tests of the built-in apps under plugins/."""

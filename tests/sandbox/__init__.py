"""Tests of the emulators in zaplite.sandbox."""

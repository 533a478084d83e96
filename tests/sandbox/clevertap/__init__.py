"""Tests of the CleverTap emulator (zaplite.sandbox.clevertap)."""

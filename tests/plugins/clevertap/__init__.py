"""Tests of the CleverTap app (plugins/zaplite_clevertap)."""

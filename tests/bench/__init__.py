"""Smoke tests of the benchmark scripts under bench/."""

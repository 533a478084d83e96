"""zaplite's tests; folders mirror the source tree (see tests/README.md)."""

"""Tests of zaplite.project: zaplite.toml, zap files and the workspace."""

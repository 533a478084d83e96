"""Tests of zaplite.plugin: hook specs, the plugin manager and plugin loading."""

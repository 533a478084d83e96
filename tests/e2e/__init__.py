"""End-to-end tests: the installed CLI against both sandbox emulators."""

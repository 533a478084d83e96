"""Tests of the Salesforce emulator (zaplite.sandbox.salesforce)."""

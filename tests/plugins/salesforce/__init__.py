"""Tests of the Salesforce app (plugins/zaplite_salesforce)."""

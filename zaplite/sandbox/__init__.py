"""Local emulators of Salesforce and CleverTap, for tests, ``zaplite sandbox`` and ``zaplite demo``."""

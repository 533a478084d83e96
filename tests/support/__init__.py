"""The helpers every test folder shares: CLI runner, stores, emulators, zaps."""

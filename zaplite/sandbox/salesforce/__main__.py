"""``python -m zaplite.sandbox.salesforce``: serve the emulator in this process."""

from __future__ import annotations

from .serve import main

if __name__ == "__main__":
    raise SystemExit(main())

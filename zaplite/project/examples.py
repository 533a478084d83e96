"""The ready zaps of the three use cases, shipped with the package (``zaps/`` in the source tree)."""

from __future__ import annotations

import shutil
from importlib import resources
from pathlib import Path

__all__ = ["OUTBOUND_TOKEN_REFERENCE", "copy_example_zaps", "example_zaps"]


def example_zaps() -> list[Path]:
    """The example zap files: from the installed package, or the source tree's ``zaps/``."""
    packaged = resources.files("zaplite") / "examples" / "zaps"
    candidates = [Path(str(packaged)), Path(__file__).resolve().parents[2] / "zaps"]
    for folder in candidates:
        files = sorted(folder.glob("*.json")) if folder.is_dir() else []
        if files:
            return files
    raise FileNotFoundError("the example zaps are missing from this installation of zaplite")


OUTBOUND_TOKEN_REFERENCE = "${SALESFORCE_OUTBOUND_TOKEN}"
"""How the instant example zap names the secret of its endpoint URL."""


def copy_example_zaps(folder: Path, *, outbound_token: str | None = None) -> list[Path]:
    """Copy the example zaps into ``folder`` (created); returns the new files.

    With ``outbound_token`` (the sandbox's own fake secret), the instant example zap gets
    it written in place of ``${SALESFORCE_OUTBOUND_TOKEN}``, as the sandbox's config gets
    the emulators' fake credentials.
    """
    folder.mkdir(parents=True, exist_ok=True)
    copied = []
    for source in example_zaps():
        target = folder / source.name
        shutil.copyfile(source, target)
        if outbound_token is not None:
            text = target.read_text(encoding="utf-8")
            if OUTBOUND_TOKEN_REFERENCE in text:
                target.write_text(
                    text.replace(OUTBOUND_TOKEN_REFERENCE, outbound_token), encoding="utf-8"
                )
        copied.append(target)
    return copied

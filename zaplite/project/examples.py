"""The ready zaps of the three use cases, shipped with the package (``zaps/`` in the source tree)."""

from __future__ import annotations

import shutil
from importlib import resources
from pathlib import Path

__all__ = ["copy_example_zaps", "example_zaps"]


def example_zaps() -> list[Path]:
    """The example zap files: from the installed package, or the source tree's ``zaps/``."""
    packaged = resources.files("zaplite") / "examples" / "zaps"
    candidates = [Path(str(packaged)), Path(__file__).resolve().parents[2] / "zaps"]
    for folder in candidates:
        files = sorted(folder.glob("*.json")) if folder.is_dir() else []
        if files:
            return files
    raise FileNotFoundError("the example zaps are missing from this installation of zaplite")


def copy_example_zaps(folder: Path) -> list[Path]:
    """Copy the example zaps into ``folder`` (created); returns the new files."""
    folder.mkdir(parents=True, exist_ok=True)
    copied = []
    for source in example_zaps():
        target = folder / source.name
        shutil.copyfile(source, target)
        copied.append(target)
    return copied

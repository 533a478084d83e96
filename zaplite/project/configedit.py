"""Changing one ``[connections.NAME]`` table of ``zaplite.toml``, keeping the rest as written.

``zaplite connect`` and ``zaplite disconnect`` edit the file with tomlkit, so the
other tables, the comments and the order stay as the person wrote them. The new
text is checked by the same loader every command uses before it replaces the file
(atomically, keeping its mode), so an edit never leaves a config zaplite refuses.
"""

from __future__ import annotations

import contextlib
import os
import stat
from collections.abc import Iterable, Mapping
from pathlib import Path

from zaplite.errors import FileError
from zaplite.project.config import load_config

__all__ = ["remove_connection", "update_connection"]


def _parse(path: Path) -> object:
    import tomlkit
    from tomlkit.exceptions import TOMLKitError

    try:
        text = path.read_text(encoding="utf-8") if path.exists() else ""
    except OSError as error:
        raise FileError(str(path), None, f"cannot be read ({error.strerror or error})") from None
    try:
        return tomlkit.parse(text)
    except TOMLKitError as error:
        raise FileError(str(path), None, f"invalid TOML: {error}") from None


def _write(path: Path, text: str) -> None:
    """Replace ``path`` with ``text`` atomically, keeping its mode (0644 for a new file)."""
    mode = stat.S_IMODE(path.stat().st_mode) if path.exists() else 0o644
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except OSError as error:
        with contextlib.suppress(OSError):
            temporary.unlink()
        raise FileError(str(path), None, f"cannot be written ({error.strerror or error})") from None


def _check_and_write(path: Path, document: object) -> None:
    import tomlkit

    text = tomlkit.dumps(document)
    check = path.with_name(f".{path.name}.{os.getpid()}.check")
    try:
        check.write_text(text, encoding="utf-8")
        load_config(check)  # raises on anything the loader refuses
    except FileError as error:
        raise FileError(str(path), error.field, error.reason) from None
    finally:
        with contextlib.suppress(OSError):
            check.unlink()
    _write(path, text)


def update_connection(
    path: Path,
    name: str,
    values: Mapping[str, str],
    *,
    remove: Iterable[str] = (),
) -> None:
    """Set ``values`` in ``[connections.NAME]`` (created if missing) and drop the keys in ``remove``.

    Keys already there keep their place and comments; new keys go at the table's end.
    """
    import tomlkit

    document = _parse(path)
    assert isinstance(document, tomlkit.TOMLDocument)
    if "connections" not in document:
        document["connections"] = tomlkit.table(is_super_table=True)
    connections = document["connections"]
    assert isinstance(connections, tomlkit.items.Table)
    if name not in connections:
        connections[name] = tomlkit.table()
    table = connections[name]
    assert isinstance(table, tomlkit.items.Table)
    for key in remove:
        if key in table:
            del table[key]
    for key, value in values.items():
        table[key] = value
    _check_and_write(path, document)


def remove_connection(path: Path, name: str) -> bool:
    """Delete ``[connections.NAME]``; false if there was none."""
    import tomlkit

    document = _parse(path)
    assert isinstance(document, tomlkit.TOMLDocument)
    connections = document.get("connections")
    if not isinstance(connections, tomlkit.items.Table) or name not in connections:
        return False
    del connections[name]
    _check_and_write(path, document)
    return True

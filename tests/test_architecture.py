"""The rooms of ``zaplite/`` import downwards only, as ARCHITECTURE.md draws them."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1] / "zaplite"

LEVELS: dict[str, int] = {
    "errors": 0,
    "jsoncodec": 0,
    "tls": 0,
    "httpresponses": 0,
    "retry": 0,
    "oauth": 0,
    "sandbox": 0,
    "plugin": 1,
    "__init__": 1,  # the public face: the plugin-author API and the errors
    "mapping": 2,
    "store": 3,
    "project": 4,
    "engine": 5,
    "web": 6,
    "cli": 7,
    "testing": 7,
    "__main__": 7,
}
"""Each room's level: a module may import its own room and the rooms below it."""


def _room(module: str) -> str:
    parts = module.split(".")
    if parts[0] != "zaplite":
        raise ValueError(module)
    if len(parts) == 1:
        return "__init__"
    return parts[1]


def _modules() -> list[tuple[str, Path]]:
    found = []
    for path in sorted(ROOT.rglob("*.py")):
        relative = path.relative_to(ROOT.parent).with_suffix("")
        parts = list(relative.parts)
        if parts[-1] == "__init__" and len(parts) > 1:
            parts = parts[:-1]
        found.append((".".join(parts), path))
    return found


def _imports(module: str, path: Path) -> list[str]:
    tree = ast.parse(path.read_text(), str(path))
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    names: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                target = ".".join([*base, node.module] if node.module else base)
            else:
                target = node.module or ""
            names.append(target)
            for alias in node.names:  # ``from zaplite import store`` names a module
                names.append(f"{target}.{alias.name}")
    return [name for name in names if name == "zaplite" or name.startswith("zaplite.")]


def _level(module: str) -> int:
    room = _room(module)
    if room not in LEVELS:
        raise AssertionError(f"{module}: room {room!r} has no level in tests/test_architecture.py")
    return LEVELS[room]


@pytest.mark.parametrize(("module", "path"), _modules(), ids=lambda value: str(value))
def test_no_module_imports_from_a_room_above_it(module: str, path: Path) -> None:
    if module == "zaplite":
        return  # the package itself re-exports the public API from the plugin room
    own = _level(module)
    upward = []
    for name in _imports(module, path):
        room = _room(name)
        if room not in LEVELS:
            continue  # ``from zaplite import App``: an attribute of the package, not a module
        if _room(name) != _room(module) and LEVELS[room] > own:
            upward.append(name)
    assert not upward, f"{module} (level {own}) imports from rooms above it: {upward}"


def test_the_sandbox_needs_nothing_of_the_engine() -> None:
    """The emulators stand alone: a plugin author can use them without the engine."""
    for module, path in _modules():
        if _room(module) != "sandbox":
            continue
        for name in _imports(module, path):
            assert _room(name) in ("sandbox", "errors", "jsoncodec"), (module, name)


def test_the_typed_marker_ships() -> None:
    assert (ROOT / "py.typed").is_file()

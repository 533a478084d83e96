"""Compiling a step's params into one Python function that renders them for a record.

The engine renders the same params for every record of a page. :func:`compile_template`
parses the templates once and generates the source of a function that does, for one
context, what :func:`zaplite.mapping.templates.render` does: it looks each referenced path up
once (paths sharing a prefix share its lookups), through plain dicts with
``dict.get``, and builds the params' dicts and lists as literals. A path that meets
anything but a plain dict on the way (another mapping, a list index) is looked up by
:func:`zaplite.mapping.templates.lookup`'s own walk, so both give the same answer.

Only names this module makes and ``repr()`` of the params' strings (dict keys, path
segments) appear in the generated source; nothing of a record ever does.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from zaplite.mapping.templates import _MISSING, _lookup, _parse, _Ref, to_text

__all__ = ["compile_template"]

_MAX_INLINED_DEPTH = 12
"""Paths longer than this are looked up by a call (Python limits nested blocks to 20)."""


_MAX_CONCATENATED = 16
"""Longer texts are joined by one call: a long chain of ``+`` exhausts the compiler's recursion."""


@dataclass
class _Node:
    """A path segment in the trie of referenced paths, and the references ending there."""

    children: dict[str, _Node] = field(default_factory=dict)
    ends: list[int] = field(default_factory=list)

    def leaves(self) -> list[int]:
        found = list(self.ends)
        for child in self.children.values():
            found.extend(child.leaves())
        return found


class _Builder:
    """Collects constants and referenced paths while turning params into an expression."""

    def __init__(self) -> None:
        self.namespace: dict[str, Any] = {"M": _MISSING, "L": _lookup, "T": to_text}
        self.paths: dict[tuple[str, ...], int] = {}
        self._names = itertools.count()

    def constant(self, value: Any) -> str:
        name = f"C{next(self._names)}"
        self.namespace[name] = value
        return name

    def reference(self, ref: _Ref) -> str:
        index = self.paths.setdefault(ref.path, len(self.paths))
        self.namespace[f"P{index}"] = ref.path
        return f"v{index}"

    def expression(self, value: Any) -> str:
        if isinstance(value, str):
            return self._string(value)
        if isinstance(value, Mapping):
            entries = ", ".join(
                f"{self._key(key)}: {self.expression(item)}" for key, item in value.items()
            )
            return "{" + entries + "}"
        if isinstance(value, list | tuple):
            return "[" + ", ".join(self.expression(item) for item in value) + "]"
        return self.constant(value)

    def _key(self, key: Any) -> str:
        return repr(key) if type(key) is str else self.constant(key)

    def _string(self, text: str) -> str:
        if "{{" not in text:
            return repr(text)
        parsed = _parse(text)
        single = parsed.single
        if single is not None:
            variable = self.reference(single)
            return f"(None if {variable} is M else {variable})"
        if not any(isinstance(part, _Ref) for part in parsed.parts):
            return repr(text)  # no valid template in it: kept as it is written
        pieces = []
        for part in parsed.parts:
            if isinstance(part, str):
                pieces.append(repr(part))
            else:
                variable = self.reference(part)
                pieces.append(f"({variable} if type({variable}) is str else T({variable}))")
        if len(pieces) <= _MAX_CONCATENATED:
            return "(" + " + ".join(pieces) + ")"
        return "''.join((" + ", ".join(pieces) + "))"

    def lookups(self) -> list[str]:
        """Statements (at function-body indentation) giving every ``v<n>`` its value."""
        root = _Node()
        deep: list[int] = []
        for path, index in self.paths.items():
            if len(path) > _MAX_INLINED_DEPTH:
                deep.append(index)
                continue
            node = root
            for segment in path:
                node = node.children.setdefault(segment, _Node())
            node.ends.append(index)
        lines = ["    if type(context) is dict:"]
        self._walk(lines, "context", root, 2)
        if not root.children:
            lines.append("        pass")
        lines.append("    else:")
        lines.extend(f"        v{index} = L(context, P{index})" for index in root.leaves())
        if not root.children:
            lines.append("        pass")
        lines.extend(f"    v{index} = L(context, P{index})" for index in deep)
        return lines

    def _walk(self, lines: list[str], holder: str, node: _Node, depth: int) -> None:
        pad = "    " * depth
        for segment, child in node.children.items():
            if not child.children and len(child.ends) == 1:  # a leaf: straight into its v<n>
                lines.append(f"{pad}v{child.ends[0]} = {holder}.get({segment!r}, M)")
                continue
            name = f"n{next(self._names)}"
            lines.append(f"{pad}{name} = {holder}.get({segment!r}, M)")
            lines.extend(f"{pad}v{index} = {name}" for index in child.ends)
            if child.children:
                lines.append(f"{pad}if type({name}) is dict:")
                self._walk(lines, name, child, depth + 1)
                lines.append(f"{pad}else:")
                lines.extend(
                    f"{pad}    v{index} = L(context, P{index})"
                    for grandchild in child.children.values()
                    for index in grandchild.leaves()
                )


def compile_template(value: Any) -> Callable[[Mapping[str, Any]], Any]:
    """``value`` compiled once into a function of the context that renders as ``render`` does.

    Each call returns new dicts and lists, as :func:`~zaplite.mapping.templates.render` does.
    """
    builder = _Builder()
    result = builder.expression(value)
    body = builder.lookups() if builder.paths else []
    source = "\n".join(["def render(context):", *body, f"    return {result}", ""])
    namespace = builder.namespace
    exec(compile(source, "<zaplite params template>", "exec"), namespace)
    function: Callable[[Mapping[str, Any]], Any] = namespace["render"]
    return function

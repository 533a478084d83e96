"""Templates in zap params: ``{{trigger.Owner.Name}}``, ``{{steps.<id>.<field>}}``.

A template is only a path into the data: dotted segments that look up mapping keys
(and list indexes, for segments made of digits). Nothing is ever evaluated: no
expressions, no attribute access on Python objects, no format specifications.

- A string that is exactly one template renders to the referenced value with its
  native type (a number stays a number, a dict stays a dict; missing gives ``None``).
- Templates inside text render as text: ``None`` and missing fields as ``""``,
  booleans as ``true``/``false``, dicts and lists as JSON.
- :func:`render` never raises: text that is not a valid template (an unclosed
  ``{{``, an unknown root) is kept as it is. :func:`check` reports those as errors.

Parsed templates are cached per string, since the engine renders the same params
for many records.
"""

from __future__ import annotations

import json
import re
import types
import typing
from collections.abc import Mapping, MutableMapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from functools import lru_cache
from typing import Any, Union

from pydantic import BaseModel

__all__ = [
    "MAX_DEPTH",
    "MAX_TEMPLATES_PER_STRING",
    "MAX_TEMPLATES_PER_ZAP",
    "MAX_TEMPLATE_TEXT",
    "ROOTS",
    "TemplateError",
    "check",
    "is_single_template",
    "lookup",
    "parse_json_strings",
    "references",
    "render",
    "single_reference",
    "to_text",
]

ROOTS = ("trigger", "steps")
"""The names a template path may start with."""

MAX_DEPTH = 32
"""How deeply objects and lists may nest in a zap's params (deeper is refused by ``validate``)."""

MAX_TEMPLATES_PER_STRING = 500
"""How many templates one text may hold."""

MAX_TEMPLATES_PER_ZAP = 2_000
"""How many templates one zap may hold, over its params and filters."""

MAX_TEMPLATE_TEXT = 100_000
"""How many characters a text holding templates may have."""

_BAD_SEGMENT = re.compile(r"[.{}\s]")


class TemplateError(ValueError):
    """A template is written wrongly: ``where`` is the JSON path of the value, ``reason`` why."""

    def __init__(self, where: str, reason: str) -> None:
        self.where = where
        self.reason = reason
        super().__init__(f"{where}: {reason}" if where else reason)


@dataclass(frozen=True)
class _Ref:
    """One parsed template: the path segments (starting with the root)."""

    path: tuple[str, ...]
    source: str

    @property
    def dotted(self) -> str:
        return ".".join(self.path)


@dataclass(frozen=True)
class _Parsed:
    """A parsed string: literal text and references, and the first syntax error (or None)."""

    parts: tuple[str | _Ref, ...]
    error: str | None

    @property
    def single(self) -> _Ref | None:
        if len(self.parts) == 1 and isinstance(self.parts[0], _Ref):
            return self.parts[0]
        return None

    @property
    def refs(self) -> list[_Ref]:
        return [part for part in self.parts if isinstance(part, _Ref)]


def _parse_path(inner: str) -> tuple[tuple[str, ...] | None, str | None]:
    """Parse the text between the braces into path segments, or give the reason it is wrong."""
    text = inner.strip()
    shown = "{{" + inner + "}}"
    if not text:
        return None, f'the template "{shown}" is empty'
    segments = text.split(".")
    root = segments[0]
    if root not in ROOTS:
        return None, (
            f'the template "{shown}" must start with "trigger" or "steps" '
            f'(as in "{{{{trigger.Email}}}}")'
        )
    for segment in segments:
        if not segment:
            return None, f'the template "{shown}" has an empty part between dots'
        bad = _BAD_SEGMENT.search(segment)
        if bad:
            char = "a space" if bad.group().isspace() else f'"{bad.group()}"'
            return None, f'the template "{shown}" contains {char}, which a field name cannot hold'
    if root == "steps" and len(segments) < 2:
        example = "{{steps.<step id>.<field>}}"
        return None, f'the template "{shown}" must name a step, as in "{example}"'
    return tuple(segments), None


@lru_cache(maxsize=8192)
def _parse(text: str) -> _Parsed:
    """Split ``text`` into literal text and template references (cached)."""
    if "{{" not in text:
        return _Parsed((text,), None)
    parts: list[str | _Ref] = []
    error: str | None = None
    literal: list[str] = []
    pos = 0
    while True:
        start = text.find("{{", pos)
        if start < 0:
            literal.append(text[pos:])
            break
        while text.startswith("{", start + 2):  # "{{{x}}}": the extra braces are text
            start += 1
        end = text.find("}}", start + 2)
        if end < 0:
            if error is None:
                error = f'"{{{{" at character {start + 1} is never closed with "}}}}"'
            literal.append(text[pos:])
            break
        inner = text[start + 2 : end]
        path, reason = _parse_path(inner)
        literal.append(text[pos:start])
        if path is None:
            if error is None:
                error = reason
            literal.append(text[start : end + 2])
        else:
            if literal:
                joined = "".join(literal)
                if joined:
                    parts.append(joined)
                literal = []
            parts.append(_Ref(path, text[start : end + 2]))
        pos = end + 2
    tail = "".join(literal)
    if tail:
        parts.append(tail)
    return _Parsed(tuple(parts), error)


_MISSING = object()


def lookup(data: Any, path: Sequence[str]) -> Any:
    """Walk ``path`` through mappings (by key) and lists (by digit index); ``None`` when missing."""
    value = _lookup(data, path)
    return None if value is _MISSING else value


def _lookup(current: Any, path: Sequence[str]) -> Any:
    for segment in path:
        if type(current) is dict:  # the common case, without the ABC isinstance check
            if segment in current:
                current = current[segment]
                continue
            return _MISSING
        if isinstance(current, Mapping):
            if segment in current:
                current = current[segment]
                continue
            return _MISSING
        if isinstance(current, list | tuple) and segment.isdigit() and segment.isascii():
            index = int(segment)
            if index < len(current):
                current = current[index]
                continue
        return _MISSING
    return current


def to_text(value: Any) -> str:
    """The text form of a value inside a text template (and in filters)."""
    if value is None or value is _MISSING:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Mapping | list | tuple):
        try:
            return json.dumps(value, ensure_ascii=False, default=str)
        except (TypeError, ValueError):
            return str(value)
    return str(value)


def _render_string(text: str, context: Mapping[str, Any]) -> Any:
    parsed = _parse(text)
    single = parsed.single
    if single is not None:
        return lookup(context, single.path)
    if len(parsed.parts) == 1 and isinstance(parsed.parts[0], str):
        return text
    return "".join(
        part if isinstance(part, str) else to_text(_lookup(context, part.path))
        for part in parsed.parts
    )


def render(value: Any, context: Mapping[str, Any]) -> Any:
    """Render every template in ``value`` (recursively through dicts and lists) against ``context``.

    ``context`` is ``{"trigger": record, "steps": {step_id: output, ...}}``. Dict keys are
    not rendered. Never raises for any string.
    """
    if isinstance(value, str):
        if "{{" not in value:
            return value
        return _render_string(value, context)
    if isinstance(value, Mapping):
        return {key: render(item, context) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [render(item, context) for item in value]
    return value


def _walk_strings(value: Any, where: str) -> typing.Iterator[tuple[str, str]]:
    """Yield (json path, string) for every string in ``value`` (dict keys excluded)."""
    if isinstance(value, str):
        yield where, value
    elif isinstance(value, Mapping):
        for key, item in value.items():
            yield from _walk_strings(item, f"{where}.{key}" if where else str(key))
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            yield from _walk_strings(item, f"{where}[{index}]")


def _check_depth(value: Any, where: str, depth: int = 0) -> None:
    """Raise :class:`TemplateError` at the first object or list nested past :data:`MAX_DEPTH`."""
    if isinstance(value, Mapping | list | tuple):
        if depth >= MAX_DEPTH:
            raise TemplateError(
                where,
                f"objects and lists are nested more than {MAX_DEPTH} levels deep here; "
                f"params may nest at most {MAX_DEPTH} levels",
            )
        items = (
            (((f"{where}.{key}" if where else str(key)), item) for key, item in value.items())
            if isinstance(value, Mapping)
            else ((f"{where}[{index}]", item) for index, item in enumerate(value))
        )
        for path, item in items:
            _check_depth(item, path, depth + 1)


def references(value: Any) -> list[str]:
    """Every dotted path referenced in ``value``, in order of appearance, without repeats.

    ``{"a": "{{trigger.Owner.Name}}", "b": ["{{steps.profile.status}}"]}`` gives
    ``["trigger.Owner.Name", "steps.profile.status"]``. Invalid templates are left out.
    """
    seen: dict[str, None] = {}
    for _, text in _walk_strings(value, ""):
        if "{{" in text:
            for ref in _parse(text).refs:
                seen.setdefault(ref.dotted, None)
    return list(seen)


def references_with_paths(value: Any, where: str = "") -> list[tuple[str, tuple[str, ...]]]:
    """Each (json path of the string, template path segments) in ``value``; for validation."""
    found: list[tuple[str, tuple[str, ...]]] = []
    for path, text in _walk_strings(value, where):
        if "{{" in text:
            found.extend((path, ref.path) for ref in _parse(text).refs)
    return found


def check(value: Any, where: str) -> int:
    """Raise :class:`TemplateError` (a ValueError) for the first badly written template.

    ``where`` is the JSON path of ``value`` (``"steps[0].params"``); the error's
    ``where`` is the path of the string at fault (``"steps[0].params.profile.Name"``).
    Errors: an unclosed ``{{``, an empty path, a root other than ``trigger`` or
    ``steps``, an empty segment or a segment holding spaces or braces, and the limits
    that keep rendering bounded: objects and lists nested deeper than
    :data:`MAX_DEPTH`, a text with templates longer than :data:`MAX_TEMPLATE_TEXT`
    characters or holding more than :data:`MAX_TEMPLATES_PER_STRING` templates.
    Returns how many templates ``value`` holds (for :data:`MAX_TEMPLATES_PER_ZAP`).
    """
    _check_depth(value, where)
    count = 0
    for path, text in _walk_strings(value, where):
        if "{{" not in text:
            continue
        parsed = _parse(text)
        if parsed.error is not None:
            raise TemplateError(path, parsed.error)
        found = len(parsed.refs)
        if found > MAX_TEMPLATES_PER_STRING:
            raise TemplateError(
                path,
                f"the text holds {found:,} templates; one text may hold at most "
                f"{MAX_TEMPLATES_PER_STRING:,}",
            )
        if len(text) > MAX_TEMPLATE_TEXT:
            raise TemplateError(
                path,
                f"the text holds templates and is {len(text):,} characters long; "
                f"a text with templates may have at most {MAX_TEMPLATE_TEXT:,}",
            )
        count += found
    return count


def is_single_template(text: Any) -> bool:
    """True when ``text`` is a string that is exactly one valid template."""
    return isinstance(text, str) and "{{" in text and _parse(text).single is not None


def single_reference(text: Any) -> tuple[str, ...] | None:
    """The path segments of ``text`` when it is exactly one valid template, else ``None``."""
    if not isinstance(text, str) or "{{" not in text:
        return None
    single = _parse(text).single
    return single.path if single is not None else None


# --------------------------------------------------------------------------- JSON-string params


def _accepts(annotation: Any, kinds: tuple[type, ...]) -> bool:
    """Whether a type annotation accepts a value of one of ``kinds`` (through unions/Annotated)."""
    if annotation is None or annotation is Any or annotation is object:
        return False
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return _accepts(typing.get_args(annotation)[0], kinds)
    if origin is Union or origin is types.UnionType:
        return any(_accepts(arg, kinds) for arg in typing.get_args(annotation))
    target = origin if origin is not None else annotation
    if isinstance(target, type):
        if dict in kinds and issubclass(target, BaseModel):
            return True
        return any(issubclass(target, kind) or issubclass(kind, target) for kind in kinds)
    return False


def _wants_object(annotation: Any) -> bool:
    return _accepts(annotation, (dict, Mapping, MutableMapping))


def parse_json_strings(params: dict[str, Any], model: type[BaseModel]) -> dict[str, Any]:
    """Replace JSON-object strings by objects for the fields of ``model`` that take an object.

    Zapier's "JSON format" fields: ``"profile": "{\\"Name\\": \\"{{trigger.Name}}\\"}"``
    becomes a dict, so that templates inside it then render safely even when the data
    holds quotes. Call it before :func:`render`. A string that is exactly one template
    is left alone (it may render to an object). A string that is not valid JSON raises
    :class:`ValueError` with a readable reason, unless the field also accepts text.
    Returns a new dict; ``params`` is not changed.
    """
    result = dict(params)
    for name, field in model.model_fields.items():
        key = field.alias or name
        if key not in result:
            key = name
        raw = result.get(key)
        if not isinstance(raw, str) or not _wants_object(field.annotation):
            continue
        if is_single_template(raw.strip()):
            continue
        also_text = _accepts(field.annotation, (str,))
        try:
            parsed = json.loads(raw)
        except ValueError as error:
            if also_text:
                continue
            detail = getattr(error, "msg", str(error))
            line = getattr(error, "lineno", None)
            column = getattr(error, "colno", None)
            at = f" at line {line}, column {column}" if line is not None else ""
            raise ValueError(
                f'"{key}" should be an object or a JSON object written as text, '
                f"but its text is not valid JSON ({detail[:1].lower()}{detail[1:]}{at})"
            ) from None
        if isinstance(parsed, dict):
            result[key] = parsed
    return result

"""Turning a pydantic validation error into one sentence that names the file, the field and the reason.

Every file the user writes is validated by a pydantic model: ``zaplite.toml``, the zap
files, a trigger's or an action's params (the plugin's model), a connection's settings
(the app's model). :func:`explain` is how each of those errors reaches the user::

    try:
        model.model_validate(data)
    except ValidationError as error:
        raise explain(error, file="zaps/x.json", prefix="trigger.params", noun="param") from None

The field is the error's location joined like JSON (``steps[1].params.identity``); an
unknown key is named, with the closest known one when there is one (a typo such as
``passcod`` is reported as itself, not as a missing ``passcode``).
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from pydantic import ValidationError

from zaplite.errors import FileError

__all__ = ["describe", "explain", "field_name", "problem_error", "problems"]

_TYPE_REASONS = {
    "string_type": "expected text",
    "int_type": "expected a whole number",
    "int_parsing": "expected a whole number",
    "int_from_float": "expected a whole number",
    "float_type": "expected a number",
    "float_parsing": "expected a number",
    "bool_type": "expected true or false",
    "bool_parsing": "expected true or false",
    "list_type": "expected a list",
    "tuple_type": "expected a list",
    "datetime_type": "expected a date-time",
}

_UNION_TAG = re.compile(r"[a-z][a-z-]*(\[.*\])?")
"""How pydantic names a union's branch in an error's location (``str``, ``dict[str,any]``)."""

KnownFields = Callable[[tuple[Any, ...]], list[str] | None]
"""The keys allowed at a location (the location of the object holding the unknown key)."""


def problems(error: ValidationError, *, merge_unions: bool = False) -> list[dict[str, Any]]:
    """The errors in the order to report them.

    An unknown key comes first when a required key is missing beside it: the unknown
    one is usually that key, misspelt. With ``merge_unions`` (for plugins' params
    models, whose fields are often unions), each union's per-branch errors are merged
    into one at the union's own field: pydantic reports ``identity: str | int`` given a
    list as ``identity.str`` and ``identity.int``; a user wants ``identity`` and what
    kind of value it cannot be.
    """
    found = error.errors(include_url=False)
    merged: list[dict[str, Any]] = []
    for problem in found:
        loc = tuple(problem["loc"])
        if not merge_unions:
            merged.append(dict(problem))
            continue
        tag = loc[-1] if len(loc) >= 2 else None
        if not isinstance(tag, str) or not _UNION_TAG.fullmatch(tag):
            merged.append(dict(problem))
            continue
        siblings = [
            p for p in found if len(p["loc"]) >= len(loc) and p["loc"][: len(loc) - 1] == loc[:-1]
        ]
        if len({p["loc"][len(loc) - 1] for p in siblings}) < 2:
            merged.append(dict(problem))
            continue
        if any(tuple(m["loc"]) == loc[:-1] for m in merged):
            continue
        value = problem.get("input")
        merged.append({"loc": loc[:-1], "type": "union", "msg": f"cannot be {_kind(value)}"})
    missing_at = {tuple(p["loc"][:-1]) for p in merged if p.get("type") == "missing"}
    return sorted(
        merged,
        key=lambda p: (
            not (p.get("type") == "extra_forbidden" and tuple(p["loc"][:-1]) in missing_at)
        ),
    )


def describe(
    problem: Mapping[str, Any],
    *,
    noun: str = "field",
    object_word: str = "an object",
    known_fields: KnownFields | None = None,
) -> str:
    """The reason of one pydantic error, as words a user reads after the field's name.

    ``noun`` is what the keys are called where the error is (``field``, ``param``,
    ``setting``).
    """
    kind = problem.get("type", "")
    loc = tuple(problem.get("loc", ()))
    if kind == "missing":
        return f"required {noun} is missing"
    if kind == "extra_forbidden":
        allowed = known_fields(loc[:-1]) if known_fields is not None and loc else None
        if not allowed:
            return f"unknown {noun}"
        close = difflib.get_close_matches(str(loc[-1]), allowed, n=1)
        hint = f'did you mean "{close[0]}"? ' if close else ""
        return f"unknown {noun} ({hint}expected one of: {', '.join(allowed)})"
    if kind in _TYPE_REASONS:
        return _TYPE_REASONS[kind]
    if kind in ("dict_type", "model_type", "model_attributes_type", "mapping_type"):
        return f"expected {object_word}"
    if kind == "too_short" and isinstance(problem.get("input"), list | dict | str):
        return "must not be empty"
    message = str(problem.get("msg", "is not valid"))
    given = problem.get("input")
    if kind == "literal_error" and isinstance(given, str) and len(given) <= 40:
        message = message.replace("Input should be", f'"{given}" is not allowed; it must be')
    for prefix in ("Value error, ", "Assertion failed, "):  # pydantic's, not the validator's
        message = message.removeprefix(prefix)
    message = message.replace("Input should be", "must be")
    message = message.replace("greater than or equal to", "at least")
    message = message.replace("less than or equal to", "at most")
    return message[:1].lower() + message[1:] if message[:2] != message[:2].upper() else message


def field_name(loc: Iterable[Any], tags: Iterable[str] = ()) -> str:
    """A location joined like JSON (``steps[1].params.identity``), discriminator tags left out."""
    hidden = frozenset(tags)
    out = ""
    previous_index = False
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
            previous_index = True
            continue
        text = str(part)
        if previous_index and text in hidden:
            previous_index = False
            continue
        out += f".{text}" if out else text
        previous_index = False
    return out


def explain(
    error: ValidationError,
    *,
    file: str | None,
    prefix: str = "",
    noun: str = "field",
    tags: Iterable[str] = (),
    object_word: str = "an object",
    known_fields: KnownFields | None = None,
    merge_unions: bool = False,
) -> FileError:
    """One :class:`~zaplite.errors.FileError` for the first problem of ``error``.

    The field is ``prefix`` followed by the problem's location; location parts in
    ``tags`` that follow a list index (the tags of discriminated unions) are left out.
    ``known_fields(loc)`` may return the allowed keys at a location, to suggest one for
    an unknown key. A validator may raise a ValueError with ``where`` and ``reason``
    attributes (``zaplite.mapping.templates.TemplateError``) to point below the
    location it validates.
    """
    first = problems(error, merge_unions=merge_unions)[0]
    return problem_error(
        first,
        file=file,
        prefix=prefix,
        noun=noun,
        tags=tags,
        object_word=object_word,
        known_fields=known_fields,
    )


def problem_error(
    problem: Mapping[str, Any],
    *,
    file: str | None,
    prefix: str = "",
    noun: str = "field",
    tags: Iterable[str] = (),
    object_word: str = "an object",
    known_fields: KnownFields | None = None,
) -> FileError:
    """:func:`explain` for one problem of :func:`problems` (for callers that pick which)."""
    where = field_name(tuple(problem.get("loc", ())), tags)
    if prefix:
        where = f"{prefix}.{where}" if where and not where.startswith("[") else prefix + where
    reason = describe(problem, noun=noun, object_word=object_word, known_fields=known_fields)
    cause = (problem.get("ctx") or {}).get("error")
    sub = getattr(cause, "where", None)
    if isinstance(sub, str) and sub:
        where = sub if not where else where + (sub if sub.startswith("[") else f".{sub}")
        reason = str(getattr(cause, "reason", reason))
    return FileError(file, where or None, reason)


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true or false"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return "a list"
    return "text" if isinstance(value, str) else type(value).__name__

"""``zaps/*.json``: one zap per file, as validated pydantic models.

::

    zaps, errors = load_zaps(config.settings.zaps_dir)   # bad files reported, good ones kept
    zap = load_zap(Path("zaps/new-contact-to-profile.json"))

Every problem is a :class:`~zaplite.errors.FileError` naming the file, the JSON path
of the field (``steps[1].params.identity``, ``trigger.start``) and the reason.
Checked here: JSON syntax (line and column), unknown keys, wrong types, the schedule,
unique step ids, template syntax everywhere templates appear, and that
``{{steps.X...}}`` names an earlier action step. Checked by the engine: that apps,
events, actions and connections exist, and each plugin's own params.

``trigger.start`` takes ``"now"``, ``"all"`` or an ISO-8601 instant; an instant
without a UTC offset is taken as UTC (``"2026-01-01"`` is midnight UTC).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any, Literal, Union

from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    PrivateAttr,
    Tag,
    ValidationError,
    field_serializer,
    field_validator,
    model_validator,
)

from zaplite.errors import FileError
from zaplite.mapping.filters import OPERATORS
from zaplite.mapping.templates import (
    MAX_TEMPLATES_PER_ZAP,
    TemplateError,
    check,
    references_with_paths,
    single_reference,
)
from zaplite.project.config import read_user_file
from zaplite.project.durations import format_duration, parse_duration, parse_start_instant
from zaplite.project.problems import explain

__all__ = [
    "OPS",
    "ActionStep",
    "AnyOf",
    "Condition",
    "FilterStep",
    "Schedule",
    "Step",
    "TriggerSpec",
    "Zap",
    "load_zap",
    "load_zaps",
    "parse_zap",
    "parse_zap_text",
]

OPS: tuple[str, ...] = tuple(OPERATORS)
"""Every filter operator (see :data:`zaplite.mapping.filters.OPERATORS`)."""
Op = Literal[OPS]  # type: ignore[valid-type]

_ZAP_ID = re.compile(r"[a-z0-9][a-z0-9_-]{0,99}")
_STEP_ID = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_-]{0,99}")
_TAGS = frozenset({"action", "filter", "condition", "any"})
_STRICT = ConfigDict(extra="forbid", strict=True)


def _require_text(value: str, what: str = "must not be empty") -> str:
    if not value.strip():
        raise ValueError(what)
    return value.strip()


# --------------------------------------------------------------------------- schedule and trigger


class Schedule(BaseModel):
    """When a zap polls: ``{"every": "5m"}`` or ``{"cron": "*/5 * * * *"}`` (exactly one)."""

    model_config = _STRICT

    every: timedelta | None = None
    cron: str | None = None

    @field_validator("every", mode="before")
    @classmethod
    def _parse_every(cls, value: Any) -> Any:
        if value is None:
            return None
        delta = parse_duration(value)
        if delta <= timedelta(0):
            raise ValueError("must be longer than zero")
        return delta

    @field_serializer("every")
    def _write_every(self, value: timedelta | None) -> str | None:
        return None if value is None else format_duration(value)

    @field_validator("cron")
    @classmethod
    def _parse_cron(cls, value: str | None) -> str | None:
        if value is None:
            return None
        from apscheduler.triggers.cron import CronTrigger

        text = " ".join(value.split())
        try:
            CronTrigger.from_crontab(text, timezone=UTC)
        except (ValueError, TypeError, KeyError) as error:
            detail = str(error) or "it cannot be read"
            raise ValueError(
                f'"{value}" is not a 5-field crontab expression such as "*/5 * * * *" '
                f"({detail[:1].lower()}{detail[1:]})"
            ) from None
        return text

    @model_validator(mode="after")
    def _exactly_one(self) -> Schedule:
        if (self.every is None) == (self.cron is None):
            raise ValueError('give either "every" (such as "5m") or "cron", and only one of them')
        return self

    def describe(self) -> str:
        """``"every 5m"`` or ``"cron */5 * * * *"``, for display."""
        if self.every is not None:
            return f"every {format_duration(self.every)}"
        return f"cron {self.cron}"

    def apscheduler_trigger(self, timezone: Any = None) -> Any:
        """An APScheduler 3 trigger for this schedule (``IntervalTrigger`` or ``CronTrigger``)."""
        if self.every is not None:
            from apscheduler.triggers.interval import IntervalTrigger

            return IntervalTrigger(seconds=self.every.total_seconds(), timezone=timezone or UTC)
        from apscheduler.triggers.cron import CronTrigger

        return CronTrigger.from_crontab(self.cron or "", timezone=timezone or UTC)


def _default_schedule() -> Schedule:
    return Schedule(every=timedelta(minutes=5))


class TriggerSpec(BaseModel):
    """The zap's trigger: an app's event, connection, params and where the first poll starts."""

    model_config = _STRICT

    app: str
    event: str
    connection: str | None = None
    params: dict[str, Any] = Field(default_factory=dict)
    start: Literal["now", "all"] | datetime = "now"

    @field_validator("app", "event", "connection")
    @classmethod
    def _text(cls, value: str | None) -> str | None:
        return _opt_text(value)

    @field_validator("start", mode="before")
    @classmethod
    def _parse_start(cls, value: Any) -> Any:
        if value in ("now", "all"):
            return value
        if isinstance(value, str | datetime):
            return parse_start_instant(value)
        raise ValueError(
            'must be "now", "all" or an ISO-8601 date-time such as "2026-01-01T00:00:00Z"'
        )


def _opt_text(value: str | None) -> str | None:
    return None if value is None else _require_text(value)


# --------------------------------------------------------------------------- conditions


class Condition(BaseModel):
    """One filter condition: ``{"field": "{{trigger.Stage}}", "op": "equals", "value": "Won"}``."""

    model_config = _STRICT

    field: str
    op: Op
    value: Any = None

    @field_validator("field")
    @classmethod
    def _field_is_template(cls, value: str) -> str:
        if "{{" not in value:
            name = value.strip()
            example = (
                f"{{{{trigger.{name}}}}}" if re.fullmatch(r"[\w.]+", name) else "{{trigger.Field}}"
            )
            raise ValueError(f'must be a template such as "{example}"')
        return value

    @model_validator(mode="after")
    def _value_fits_op(self) -> Condition:
        operator = OPERATORS[self.op]
        has_value = "value" in self.model_fields_set
        if operator.value == "none" and has_value and self.value is not None:
            raise TemplateError("value", f'the "{self.op}" operator takes no value')
        if operator.value != "none" and not has_value:
            raise TemplateError("value", f'the "{self.op}" operator needs a "value"')
        if operator.value == "list":
            if not isinstance(self.value, list | str):
                raise TemplateError(
                    "value", f'the "{self.op}" operator needs a list or comma-separated text'
                )
            if isinstance(self.value, list) and any(
                isinstance(item, dict | list) for item in self.value
            ):
                raise TemplateError("value", "the items must be text, numbers or booleans")
        elif isinstance(self.value, dict | list):
            raise TemplateError("value", "must be text, a number or a boolean")
        if operator.on_trigger_field:
            path = single_reference(self.field.strip())
            if path is None or path[0] != "trigger" or len(path) < 2:
                raise TemplateError(
                    "field",
                    f'the "{self.op}" operator needs a field that is exactly one '
                    '"{{trigger.<field>}}" template',
                )
        return self


def _condition_kind(value: Any) -> str:
    if isinstance(value, dict):
        return "any" if "any" in value else "condition"
    return "any" if isinstance(value, AnyOf) else "condition"


class AnyOf(BaseModel):
    """``{"any": [...]}``: passes when one of its conditions (or nested groups) passes."""

    model_config = _STRICT

    any: Annotated[list[ConditionItem], Field(min_length=1)]


ConditionItem = Annotated[
    Union[Annotated[Condition, Tag("condition")], Annotated[AnyOf, Tag("any")]],  # noqa: UP007
    Discriminator(_condition_kind),
]
AnyOf.model_rebuild()


# --------------------------------------------------------------------------- steps


def _check_step_id(value: str) -> str:
    if not _STEP_ID.fullmatch(value):
        raise ValueError(
            "must be letters, digits, '_' or '-' (at most 100), as it is used in "
            '"{{steps.<step id>.<field>}}"'
        )
    return value


class ActionStep(BaseModel):
    """An action step: an app's action, its connection and its params (templates allowed)."""

    model_config = _STRICT

    id: str
    app: str
    action: str
    connection: str | None = None
    params: dict[str, Any] = Field(default_factory=dict)

    @field_validator("id")
    @classmethod
    def _id(cls, value: str) -> str:
        return _check_step_id(value)

    @field_validator("app", "action", "connection")
    @classmethod
    def _text(cls, value: str | None) -> str | None:
        return _opt_text(value)


class FilterStep(BaseModel):
    """A filter step: the zap goes on for a record only if every condition passes (AND)."""

    model_config = _STRICT

    id: str
    filter: Annotated[list[ConditionItem], Field(min_length=1)]

    @field_validator("id")
    @classmethod
    def _id(cls, value: str) -> str:
        return _check_step_id(value)


def _step_kind(value: Any) -> str:
    if isinstance(value, dict):
        return "filter" if "filter" in value else "action"
    return "filter" if isinstance(value, FilterStep) else "action"


Step = Annotated[
    Union[Annotated[ActionStep, Tag("action")], Annotated[FilterStep, Tag("filter")]],  # noqa: UP007
    Discriminator(_step_kind),
]
"""A step: an :class:`ActionStep`, or a :class:`FilterStep` when it has a ``filter`` key."""


# --------------------------------------------------------------------------- the zap


class Zap(BaseModel):
    """One zap: a trigger, then steps run in order for each new record.

    ``source`` is the file it was loaded from (set by the loader; not a JSON key).
    """

    model_config = _STRICT

    id: str
    name: str = ""
    description: str = ""
    enabled: bool = True
    schedule: Schedule = Field(default_factory=_default_schedule)
    trigger: TriggerSpec
    steps: Annotated[list[Step], Field(min_length=1)]

    _source: Path | None = PrivateAttr(default=None)

    @property
    def source(self) -> Path | None:
        """The file this zap was read from, or ``None``."""
        return self._source

    @source.setter
    def source(self, path: Path | None) -> None:
        self._source = path

    @field_validator("id")
    @classmethod
    def _check_id(cls, value: str) -> str:
        if not _ZAP_ID.fullmatch(value):
            raise ValueError(
                "must be lowercase letters, digits, '-' or '_', starting with a letter or "
                'digit (at most 100), such as "new-contact-to-profile"'
            )
        return value

    @model_validator(mode="after")
    def _check_steps(self) -> Zap:
        if not self.name.strip():
            self.name = self.id
        _check_zap(self)
        return self

    def step(self, step_id: str) -> ActionStep | FilterStep | None:
        """The step with this id, or ``None``."""
        return next((step for step in self.steps if step.id == step_id), None)

    @property
    def action_steps(self) -> list[ActionStep]:
        """The action steps, in order."""
        return [step for step in self.steps if isinstance(step, ActionStep)]


def _conditions(items: list[Any], where: str) -> Iterator[tuple[str, Condition]]:
    for index, item in enumerate(items):
        if isinstance(item, AnyOf):
            yield from _conditions(item.any, f"{where}[{index}].any")
        else:
            yield f"{where}[{index}]", item


def _check_refs(value: Any, where: str, earlier: dict[str, str], later: set[str]) -> None:
    """Each ``{{steps.X}}`` in ``value`` must name an earlier action step."""
    for path, segments in references_with_paths(value, where):
        if segments[0] != "steps":
            continue
        target = segments[1]
        template = "{{" + ".".join(segments) + "}}"
        kind = earlier.get(target)
        if kind == "action":
            continue
        if kind == "filter":
            reason = f'"{template}" refers to the filter step "{target}", which has no output'
        elif target in later:
            reason = (
                f'"{template}" refers to the step "{target}", which does not run before this one'
            )
        else:
            reason = (
                f'"{template}" refers to the step "{target}", but the zap has no step of that id'
            )
        raise TemplateError(path, reason)


def _check_zap(zap: Zap) -> None:
    """Unique step ids, valid templates, none in trigger params, steps referenced run earlier."""
    seen: dict[str, int] = {}
    for index, step in enumerate(zap.steps):
        if step.id in seen:
            raise TemplateError(
                f"steps[{index}].id",
                f'the step id "{step.id}" is already used by steps[{seen[step.id]}]',
            )
        seen[step.id] = index
    check(zap.trigger.params, "trigger.params")
    for path, segments in references_with_paths(zap.trigger.params, "trigger.params"):
        template = "{{" + ".".join(segments) + "}}"
        raise TemplateError(
            path,
            f'"{template}" cannot be used in trigger params: there is no record yet when polling',
        )
    earlier: dict[str, str] = {}
    all_ids = set(seen)
    total = 0

    def count(found: int, where: str) -> None:
        nonlocal total
        total += found
        if total > MAX_TEMPLATES_PER_ZAP:
            raise TemplateError(
                where,
                f"the zap holds more than {MAX_TEMPLATES_PER_ZAP:,} templates by here; "
                f"a zap may hold at most {MAX_TEMPLATES_PER_ZAP:,}",
            )

    for index, step in enumerate(zap.steps):
        where = f"steps[{index}]"
        later = all_ids - set(earlier)
        if isinstance(step, ActionStep):
            count(check(step.params, f"{where}.params"), f"{where}.params")
            _check_refs(step.params, f"{where}.params", earlier, later)
            earlier[step.id] = "action"
        else:
            for path, condition in _conditions(step.filter, f"{where}.filter"):
                for name in ("field", "value"):
                    part = getattr(condition, name)
                    count(check(part, f"{path}.{name}"), f"{path}.{name}")
                    _check_refs(part, f"{path}.{name}", earlier, later)
            earlier[step.id] = "filter"


# --------------------------------------------------------------------------- loading


def _known_fields(loc: tuple[Any, ...]) -> list[str] | None:
    by_tag: dict[str, type[BaseModel]] = {
        "action": ActionStep,
        "filter": FilterStep,
        "condition": Condition,
        "any": AnyOf,
    }
    model: type[BaseModel] | None = None
    if not loc:
        model = Zap
    elif loc == ("schedule",):
        model = Schedule
    elif loc == ("trigger",):
        model = TriggerSpec
    elif len(loc) >= 2 and isinstance(loc[-2], int) and loc[-1] in by_tag:
        model = by_tag[loc[-1]]
    return list(model.model_fields) if model else None


class _DuplicateKey(ValueError):
    pass


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise _DuplicateKey(key)
        result[key] = value
    return result


def _no_constants(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def parse_zap(data: Any, *, file: str | None = None) -> Zap:
    """Validate parsed JSON into a :class:`Zap`, or raise :class:`FileError` naming the field."""
    if not isinstance(data, dict):
        raise FileError(file, None, "a zap file must hold one JSON object")
    try:
        return Zap.model_validate(data)
    except ValidationError as error:
        raise explain(error, file=file, tags=_TAGS, known_fields=_known_fields) from None
    except RecursionError:
        raise FileError(file, None, "the zap is nested too deeply") from None


def parse_zap_text(text: str, *, file: str | None = None) -> Zap:
    """Parse and validate the JSON text of a zap file."""
    if not text.strip():
        raise FileError(file, None, "the file is empty; a zap file holds one JSON object")
    try:
        data = json.loads(text, object_pairs_hook=_no_duplicates, parse_constant=_no_constants)
    except json.JSONDecodeError as error:
        detail = error.msg[:1].lower() + error.msg[1:]
        raise FileError(
            file, None, f"invalid JSON at line {error.lineno}, column {error.colno}: {detail}"
        ) from None
    except _DuplicateKey as error:
        raise FileError(file, None, f'the key "{error}" appears twice in one object') from None
    except RecursionError:
        raise FileError(file, None, "the JSON is nested too deeply") from None
    except ValueError as error:
        raise FileError(file, None, f"invalid JSON: {error}") from None
    return parse_zap(data, file=file)


def load_zap(path: Path) -> Zap:
    """Read one zap file; :class:`FileError` (file, field, reason) when anything is wrong."""
    file = str(path)
    zap = parse_zap_text(read_user_file(path, file, "zap file"), file=file)
    zap.source = path
    return zap


WRONG_FORMATS = (".yaml", ".yml", ".toml", ".json5", ".jsonc")
"""Suffixes of files that look meant as zaps but are not read: said, not silently skipped."""


def _zap_files(directory: Path) -> tuple[list[Path], list[Path]]:
    """The zap files (``*.json``, any case; not hidden) and the files of a wrong format."""
    files: list[Path] = []
    wrong: list[Path] = []
    for path in directory.iterdir():
        if path.name.startswith(".") or path.is_dir():
            continue  # anything else named *.json is read, and refused if it is not a file
        suffix = path.suffix.lower()
        if suffix == ".json":
            files.append(path)
        elif suffix in WRONG_FORMATS:
            wrong.append(path)
    return sorted(files), sorted(wrong)


def _age(path: Path) -> tuple[float, str]:
    try:
        return path.stat().st_mtime, path.name
    except OSError:
        return float("inf"), path.name


def load_zaps(
    directory: Path, *, on_error: Callable[[FileError], None] | None = None
) -> tuple[list[Zap], list[FileError]]:
    """Load every ``*.json`` in ``directory`` (``.JSON`` too; names starting with ``.`` skipped).

    Returns the valid zaps and one :class:`FileError` per bad file. Two files with one
    id: the older file (by modification time, then name) keeps it, and the newer one
    is the error, naming the older. A ``.yaml``/``.toml``/... file is an error too (zap
    files are JSON). ``on_error`` (optional) is called with each error as it is found.
    """
    errors: list[FileError] = []

    def report(error: FileError) -> None:
        errors.append(error)
        if on_error is not None:
            on_error(error)

    if not directory.is_dir():
        what = "is not a folder" if directory.exists() else "does not exist"
        report(FileError(str(directory), None, f"the zaps folder {what}"))
        return [], errors
    files, wrong = _zap_files(directory)
    for path in wrong:
        report(
            FileError(
                str(path),
                None,
                f"zap files are JSON and end in .json; this {path.suffix} file is not read",
            )
        )
    loaded: list[tuple[Path, Zap]] = []
    for path in files:
        try:
            loaded.append((path, load_zap(path)))
        except FileError as error:
            report(error)
    owners: dict[str, Path] = {}
    kept: dict[Path, Zap] = {}
    for path, zap in sorted(loaded, key=lambda pair: _age(pair[0])):
        if zap.id in owners:
            report(
                FileError(
                    str(path),
                    "id",
                    f'the zap id "{zap.id}" is already used by {owners[zap.id]} (an older '
                    "file); give this one another id",
                )
            )
            continue
        owners[zap.id] = path
        kept[path] = zap
    return [kept[path] for path in files if path in kept], errors

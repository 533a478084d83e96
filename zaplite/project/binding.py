"""Binding a zap file to the installed apps: its trigger, actions, connections and params checked.

A :class:`BoundZap` is what the engine runs: the zap's model plus the plugin objects
it names, its trigger params validated by the plugin's own model, and each action
step's params checked as far as they can be before a record fills their templates.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from pydantic import BaseModel, ValidationError

from zaplite.errors import FileError
from zaplite.mapping import templates
from zaplite.mapping.compiled import compile_template
from zaplite.plugin.api import Action, Trigger
from zaplite.plugin.manager import Registry
from zaplite.project.config import Config
from zaplite.project.problems import explain, problem_error, problems
from zaplite.project.zapfile import ActionStep, FilterStep, Zap

__all__ = ["BoundStep", "BoundZap", "bind_zap", "template_warnings"]


@dataclass
class BoundStep:
    """One step of a bound zap: an action with its connection and raw params, or a filter."""

    id: str
    index: int
    action: Action | None = None
    connection: str | None = None
    params: dict[str, Any] = field(default_factory=dict)
    conditions: list[Any] | None = None
    plugin: str | None = None
    """The name of the plugin whose app the action belongs to, for messages."""

    @property
    def is_filter(self) -> bool:
        """Whether this step is a filter rather than an action."""
        return self.conditions is not None

    @cached_property
    def render(self) -> Callable[[Any], Any]:
        """The params compiled into one function of a record's context, once per bound step.

        :func:`bind_zap` compiles them when the zap is loaded (off the event loop when
        the daemon reloads), so a run never spends its time compiling a large mapping.
        """
        return compile_template(self.params)


@dataclass
class BoundZap:
    """A zap ready to run: the file's model, the trigger and its validated params, the steps."""

    zap: Zap
    trigger: Trigger
    trigger_params: BaseModel
    connection: str | None
    steps: list[BoundStep]
    plugin: str | None = None
    """The name of the plugin whose app the trigger belongs to, for messages."""

    @property
    def id(self) -> str:
        """The zap's id."""
        return self.zap.id

    @property
    def file(self) -> str:
        """The zap file, for messages."""
        return str(self.zap.source) if self.zap.source else f"zap {self.zap.id}"


def _connection_for(
    app_name: str, wanted: str | None, config: Config, registry: Registry, file: str, where: str
) -> str | None:
    app = registry.app(app_name)
    if wanted is not None:
        entry = config.connections.get(wanted)
        if entry is None:
            raise FileError(file, where, f"no connection named {wanted!r} is configured")
        if entry.app != app_name:
            raise FileError(
                file, where, f"the connection {wanted!r} is for app {entry.app!r}, not {app_name!r}"
            )
        return wanted
    if app.connection is None:
        return None
    candidates = config.connections_of(app_name)
    if len(candidates) == 1:
        return candidates[0].name
    if not candidates:
        raise FileError(
            file, where, f"no connection of app {app_name!r} is configured in the config file"
        )
    names = ", ".join(c.name for c in candidates)
    raise FileError(
        file, where, f"several connections of app {app_name!r} exist ({names}): name one"
    )


def bind_zap(zap: Zap, registry: Registry, config: Config) -> BoundZap:
    """Resolve the zap's apps, trigger, actions and connections; validate what can be validated now."""
    file = str(zap.source) if zap.source else f"zap {zap.id}"
    spec = zap.trigger
    try:
        trigger = registry.trigger(spec.app, spec.event)
    except KeyError as error:
        field_name = "trigger.app" if spec.app not in registry.apps else "trigger.event"
        raise FileError(file, field_name, error.args[0]) from None
    connection = _connection_for(
        spec.app, spec.connection, config, registry, file, "trigger.connection"
    )
    try:
        trigger_params = trigger.params.model_validate(spec.params)
    except ValidationError as error:
        raise explain(
            error,
            file=file,
            prefix="trigger.params",
            noun="param",
            known_fields=_fields_of(trigger.params),
            merge_unions=True,
        ) from None

    steps: list[BoundStep] = []
    for index, step in enumerate(zap.steps):
        where = f"steps[{index}]"
        if isinstance(step, FilterStep):
            steps.append(BoundStep(id=step.id, index=index, conditions=list(step.filter)))
            continue
        assert isinstance(step, ActionStep)
        try:
            action = registry.action(step.app, step.action)
        except KeyError as error:
            field_name = f"{where}.app" if step.app not in registry.apps else f"{where}.action"
            raise FileError(file, field_name, error.args[0]) from None
        step_connection = _connection_for(
            step.app, step.connection, config, registry, file, f"{where}.connection"
        )
        try:
            params = templates.parse_json_strings(dict(step.params), action.params)
        except ValueError as error:
            raise FileError(file, f"{where}.params", str(error)) from None
        _check_action_params(params, action, file, where)
        bound = BoundStep(
            id=step.id,
            index=index,
            action=action,
            connection=step_connection,
            params=params,
            plugin=registry.owners.get(step.app),
        )
        _ = bound.render  # compiled now, while loading, not by the runs
        steps.append(bound)
    return BoundZap(
        zap=zap,
        trigger=trigger,
        trigger_params=trigger_params,
        connection=connection,
        steps=steps,
        plugin=registry.owners.get(spec.app),
    )


def _check_action_params(params: dict[str, Any], action: Action, file: str, where: str) -> None:
    """Errors a record cannot fix: unknown params, missing required ones, wrong literal values."""
    blank = templates.render(params, {"trigger": {}, "steps": {}})
    try:
        action.params.model_validate(blank)
    except ValidationError as error:
        for problem in problems(error, merge_unions=True):
            loc = problem["loc"]
            top = str(loc[0]) if loc else ""
            templated = top in params and templates.references(params[top])
            if problem.get("type") == "extra_forbidden" or (top and not templated):
                if problem.get("type") == "missing" and top in params:
                    continue
                raise problem_error(
                    problem,
                    file=file,
                    prefix=f"{where}.params",
                    noun="param",
                    known_fields=_fields_of(action.params),
                ) from None


def _fields_of(model: type[BaseModel]) -> Callable[[tuple[Any, ...]], list[str] | None]:
    """The keys a params model takes at its top level, for a hint on an unknown one."""

    def known(loc: tuple[Any, ...]) -> list[str] | None:
        if loc:
            return None
        return [info.alias or name for name, info in model.model_fields.items()]

    return known


def template_warnings(bound: BoundZap, config: Config | None = None) -> list[str]:
    """Template fields the trigger does not output, or steps that do not exist: one line each."""
    known = set(bound.trigger.fields_for(bound.trigger_params))
    prefixes = {name.split(".")[0] for name in known}
    warnings: list[str] = []
    step_ids = {step.id for step in bound.steps if not step.is_filter}
    sources: list[tuple[str, Any]] = []
    for step in bound.steps:
        if step.is_filter:
            sources.append((f"steps[{step.index}].filter", _conditions_values(step.conditions)))
        else:
            sources.append((f"steps[{step.index}].params", step.params))
    for where, value in sources:
        for ref in templates.references(value):
            parts = ref.split(".")
            if parts[0] == "trigger" and len(parts) > 1:
                path = ".".join(parts[1:])
                unknown = path not in known and parts[1] not in known
                if unknown and not _under(path, known) and (known or prefixes):
                    warnings.append(
                        f"{bound.file}: {where}: {{{{{ref}}}}} is not a field the trigger "
                        f"{bound.trigger.app}.{bound.trigger.name} outputs, so it will render empty"
                    )
            elif parts[0] == "steps" and len(parts) > 1 and parts[1] not in step_ids:
                warnings.append(
                    f"{bound.file}: {where}: {{{{{ref}}}}} names no earlier action step"
                )
    return warnings


def _under(path: str, known: set[str]) -> bool:
    return any(path.startswith(name + ".") or name.startswith(path + ".") for name in known)


def _conditions_values(conditions: Any) -> list[Any]:
    values: list[Any] = []
    for condition in conditions or []:
        if hasattr(condition, "any"):
            values.extend(_conditions_values(condition.any))
        else:
            values.append(condition.field)
            values.append(condition.value)
    return values

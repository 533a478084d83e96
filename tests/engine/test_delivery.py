"""Preparing a page's params ahead: one validation call for the page, the same outcome per record."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any, Self

import pytest
from pydantic import BaseModel, ConfigDict

from zaplite.engine.delivery import Delivery, WorkItem
from zaplite.plugin.api import Action, Success
from zaplite.project.binding import BoundStep
from zaplite.retry import RetryPolicy


class Counted(BaseModel):
    """Params with a type to refuse, and a model_post_init that can fail like a plugin bug."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    count: int

    def model_post_init(self, context: Any, /) -> None:
        """Fails for one name, as a bug in a plugin's params model would."""
        if self.name == "boom":
            raise RuntimeError("the model broke")


VALIDATED: list[str] = []
"""The names :class:`OwnValidate` was called for."""


class OwnValidate(BaseModel):
    """Params whose model overrides ``model_validate``: it must run for every record."""

    name: str

    @classmethod
    def model_validate(cls, obj: Any, **kwargs: Any) -> Self:  # type: ignore[override]
        """Record the call, then validate as pydantic does."""
        VALIDATED.append(obj["name"])
        return super().model_validate({**obj, "name": obj["name"].upper()}, **kwargs)


class Unbuilt(BaseModel):
    """Params pydantic cannot build: a field's type is never defined."""

    name: str
    child: Missing  # type: ignore[name-defined]  # noqa: F821


def _delivery(model: type[BaseModel]) -> tuple[Delivery, BoundStep]:
    action = Action(
        app="test", name="act", perform=lambda params, ctx: Success(output={}), params=model
    )
    params = {"name": "{{trigger.name}}", "count": "{{trigger.count}}"}
    if model is not Counted:
        params = {"name": "{{trigger.name}}"}
    step = BoundStep(
        id="act", index=0, action=action, connection=None, params=params, plugin="test_plugin"
    )
    zap = SimpleNamespace(id="z", steps=[step])
    return Delivery(zap, connections=None, policy=RetryPolicy()), step  # type: ignore[arg-type]


def _items(*records: dict[str, Any]) -> list[WorkItem]:
    return [WorkItem(key=str(n), record=record) for n, record in enumerate(records)]


def _outcomes(prepared: list[tuple[Any, Any, str | None]]) -> list[tuple[Any, Any, str | None]]:
    return [
        (model and model.model_dump(), rendered, problem) for model, rendered, problem in prepared
    ]


@pytest.mark.parametrize(
    "records",
    [
        pytest.param([{"name": "a", "count": 1}, {"name": "b", "count": "2"}], id="all valid"),
        pytest.param(
            [{"name": "a", "count": 1}, {"name": "b", "count": "two"}, {"name": "c", "count": 3}],
            id="one refused",
        ),
        pytest.param(
            [{"name": "a", "count": 1}, {"name": "boom", "count": 2}, {"name": "c", "count": 3}],
            id="the model raises for one",
        ),
        pytest.param([{"name": "a", "count": 1}], id="one record"),
    ],
)
def test_a_page_is_prepared_as_each_record_would_be_alone(records: list[dict[str, Any]]) -> None:
    delivery, step = _delivery(Counted)
    together = delivery.prepare_many(step, _items(*records))
    alone = [delivery.prepare_params(step, item) for item in _items(*records)]

    assert _outcomes(together) == _outcomes(alone)
    assert [type(model) for model, _, _ in together] == [type(model) for model, _, _ in alone]


def test_only_the_refused_records_fail_and_each_says_why() -> None:
    delivery, step = _delivery(Counted)
    prepared = delivery.prepare_many(
        step,
        _items(
            {"name": "a", "count": 1}, {"name": "b", "count": "two"}, {"name": "boom", "count": 3}
        ),
    )

    assert prepared[0][0] == Counted(name="a", count=1)
    assert prepared[1][0] is None
    assert prepared[1][2] is not None and prepared[1][2].startswith("params.count: ")
    assert prepared[2][0] is None
    assert prepared[2][2] == (
        "the plugin 'test_plugin' failed in the action test.act: RuntimeError: the model broke"
    )


def test_a_model_with_its_own_model_validate_is_called_for_every_record() -> None:
    delivery, step = _delivery(OwnValidate)
    VALIDATED.clear()
    prepared = delivery.prepare_many(step, _items({"name": "a"}, {"name": "b"}, {"name": "c"}))

    assert VALIDATED == ["a", "b", "c"]
    assert [model.name for model, _, _ in prepared] == ["A", "B", "C"]  # type: ignore[union-attr]


def test_the_page_is_prepared_in_the_order_of_its_records() -> None:
    delivery, step = _delivery(Counted)
    records = [{"name": f"n{n}", "count": n} for n in range(250)]
    prepared = delivery.prepare_many(step, _items(*records))

    assert [model.count for model, _, _ in prepared] == list(range(250))  # type: ignore[union-attr]
    assert [rendered["name"] for _, rendered, _ in prepared] == [r["name"] for r in records]


def test_a_model_pydantic_cannot_build_fails_each_record_as_alone() -> None:
    delivery, step = _delivery(Unbuilt)
    together = delivery.prepare_many(step, _items({"name": "a"}, {"name": "b"}))
    alone = [delivery.prepare_params(step, item) for item in _items({"name": "a"}, {"name": "b"})]

    assert _outcomes(together) == _outcomes(alone)
    assert all(model is None and problem for model, _, problem in together)


def test_a_steps_params_are_compiled_once_per_load_not_once_per_run() -> None:
    """A zap at the template limits takes a noticeable time to compile: never again at each run."""
    first, step = _delivery(Counted)
    second = Delivery(first.zap, connections=None, policy=RetryPolicy())
    assert first._renderer(step) is second._renderer(step)
    assert first._renderer(step)({"trigger": {"name": "a", "count": 1}}) == {
        "name": "a",
        "count": 1,
    }

"""A compiled query at run time: filtering, ordering, LIMIT/OFFSET, and projecting rows."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ..data import format_value
from ..schema import FieldDef, ObjectDef

__all__ = ["CompiledQuery", "Getter", "Predicate", "Projection", "Row", "TableLookup"]

Row = dict[str, Any]
Getter = Callable[[Row], Any]
Predicate = Callable[[Row], bool]


@dataclass
class Projection:
    """Which fields a query returns, nested per relationship, in SELECT order."""

    obj: ObjectDef
    items: dict[str, FieldDef | tuple[FieldDef, Projection]] = field(default_factory=dict)


TableLookup = Callable[[str], Mapping[str, Row]]


@dataclass
class CompiledQuery:
    """A query ready to run: a row predicate, sort keys, LIMIT/OFFSET and the projection."""

    text: str
    obj: ObjectDef
    predicate: Predicate | None
    order: list[tuple[Getter, bool, bool]]
    limit: int | None
    offset: int | None
    count_only: bool
    projection: Projection
    tables: TableLookup
    index_field: str | None = None
    lower_bound: Any = None

    def run_indexed(
        self,
        keys: list[tuple[Any, str]],
        start: int,
        table: Mapping[str, Row],
        *,
        include_deleted: bool = False,
    ) -> list[Row]:
        """The matching rows, reading ``keys`` (sorted as the query orders) from ``start``.

        Stops as soon as OFFSET + LIMIT rows matched: no full scan, no sort.
        """
        predicate = self.predicate
        offset = self.offset or 0
        need = offset + self.limit if self.limit is not None else None
        matched: list[Row] = []
        if need == 0:
            return matched
        for position in range(start, len(keys)):
            row = table[keys[position][1]]
            if (include_deleted or not row.get("IsDeleted")) and (
                predicate is None or predicate(row)
            ):
                matched.append(row)
                if need is not None and len(matched) >= need:
                    break
        return matched[offset:]

    def run(self, rows: list[Row], *, include_deleted: bool = False) -> list[Row]:
        """The matching rows of ``rows`` in query order, after OFFSET and LIMIT."""
        predicate = self.predicate
        if include_deleted:
            matched = [r for r in rows if predicate(r)] if predicate else list(rows)
        elif predicate is None:
            matched = [r for r in rows if not r.get("IsDeleted")]
        else:
            matched = [r for r in rows if not r.get("IsDeleted") and predicate(r)]
        if self.order:
            matched = _sort(matched, self.order)
        start = self.offset or 0
        end = start + self.limit if self.limit is not None else None
        if start or end is not None:
            matched = matched[start:end]
        return matched

    def project(self, row: Row, version: str) -> dict[str, Any]:
        """A row as the query returns it: ``attributes``, then the selected fields, nested."""
        return _project(self.projection, row, version, self.tables)


def _project(projection: Projection, row: Row, version: str, tables: TableLookup) -> dict[str, Any]:
    obj = projection.obj
    out: dict[str, Any] = {
        "attributes": {"type": obj.name, "url": f"{obj.url(version)}/{row['Id']}"}
    }
    for key, item in projection.items.items():
        if isinstance(item, FieldDef):
            out[key] = format_value(item, row.get(key))
        else:
            ref, sub = item
            parent_id = row.get(ref.name)
            parent = tables(sub.obj.name).get(parent_id) if parent_id else None
            out[key] = _project(sub, parent, version, tables) if parent is not None else None
    return out


def _sort(rows: list[Row], order: list[tuple[Getter, bool, bool]]) -> list[Row]:
    """Rows sorted by several keys: stable passes from the last key to the first."""
    if all(not desc and nulls_first for _, desc, nulls_first in order):
        getters = [g for g, _, _ in order]
        if len(getters) == 1:
            get = getters[0]
            return sorted(rows, key=lambda r: (0, "") if (v := get(r)) is None else (1, v))
        return sorted(
            rows,
            key=lambda r: tuple((0, "") if (v := g(r)) is None else (1, v) for g in getters),
        )
    result = list(rows)
    for get, desc, nulls_first in reversed(order):
        nulls = [r for r in result if get(r) is None]
        values = [r for r in result if get(r) is not None]
        values.sort(key=get, reverse=desc)
        result = nulls + values if nulls_first else values + nulls
    return result

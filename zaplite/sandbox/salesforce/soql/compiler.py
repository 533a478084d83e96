"""The SOQL compiler: resolves names against the schema, checks literal types, and builds
Python closures for the WHERE clause, sort keys, the projection and the index plan."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from ..data import parse_datetime
from ..ids import normalize_id
from ..schema import NUMBER_TYPES, STRING_TYPES, FieldDef, ObjectDef, Schema
from .lexer import SoqlError, Token, error_at, like_regex, unescape
from .parser import (
    DATE_LITERALS,
    BoolOp,
    Comparison,
    Condition,
    FieldsCall,
    Literal,
    Path,
    Query,
    parse,
)
from .query import CompiledQuery, Getter, Predicate, Projection, Row, TableLookup

__all__ = ["compile_query"]

_NO_COLUMN = (
    "No such column '{name}' on entity '{entity}'. If you are attempting to use a custom field, "
    "be sure to append the '__c' after the custom field name. Please reference your WSDL or the "
    "describe call for the appropriate names."
)
_NO_RELATIONSHIP = (
    "Didn't understand relationship '{name}' in field path. If you are attempting to use a custom "
    "relationship, be sure to append the '__r' after the custom relationship name. Please reference "
    "your WSDL or the describe call for the appropriate names."
)
_NO_TYPE = (
    "sObject type '{name}' is not supported. If you are attempting to use a custom object, be sure "
    "to append the '__c' after the entity name. Please reference your WSDL or the describe call for "
    "the appropriate names."
)

_TYPE_WORDS = {
    "boolean": "boolean",
    "double": "double",
    "currency": "double",
    "percent": "double",
    "int": "integer",
    "date": "date",
    "datetime": "dateTime",
}


@dataclass
class Resolved:
    """A path resolved against the schema: reference hops, then the final field."""

    hops: list[tuple[FieldDef, ObjectDef]]
    field: FieldDef
    name: str


class _Compiler:
    def __init__(self, text: str, query: Query, schema: Schema, tables: TableLookup) -> None:
        self.text = text
        self.query = query
        self.schema = schema
        self.tables = tables
        obj = schema.get(query.object_name)
        if obj is None:
            raise error_at(
                text, query.object_pos, _NO_TYPE.format(name=query.object_name), "INVALID_TYPE"
            )
        self.obj = obj

    def resolve(self, path: Path) -> Resolved:
        """Resolve a path against the queried object, following relationships; fails as Salesforce does."""
        parts = list(path.parts)
        if len(parts) > 1 and parts[0].lower() == self.obj.name.lower():
            parts = parts[1:]
        obj = self.obj
        hops: list[tuple[FieldDef, ObjectDef]] = []
        for part in parts[:-1]:
            ref = obj.relationship(part)
            if ref is None or ref.reference_to is None:
                raise error_at(
                    self.text, path.pos, _NO_RELATIONSHIP.format(name=part), "INVALID_FIELD"
                )
            target = self.schema.require(ref.reference_to)
            hops.append((ref, target))
            obj = target
        fdef = obj.field(parts[-1])
        if fdef is None:
            name = ".".join(path.parts) if len(path.parts) > 1 else parts[-1]
            raise error_at(
                self.text, path.pos, _NO_COLUMN.format(name=name, entity=obj.name), "INVALID_FIELD"
            )
        return Resolved(hops, fdef, ".".join(path.parts))

    def getter(self, resolved: Resolved) -> Getter:
        """A function reading a resolved path's value from a row (through parent rows for relationships)."""
        name = resolved.field.name
        if not resolved.hops:
            return lambda row: row.get(name)
        hops = [(ref.name, target.name) for ref, target in resolved.hops]
        tables = self.tables

        def get(row: Row) -> Any:
            current: Row | None = row
            for ref_name, target in hops:
                parent_id = current.get(ref_name) if current is not None else None
                if parent_id is None:
                    return None
                current = tables(target).get(parent_id)
            return current.get(name) if current is not None else None

        return get

    def sort_getter(self, resolved: Resolved) -> Getter:
        """A getter whose values order as Salesforce orders them (text case-insensitively)."""
        get = self.getter(resolved)
        if resolved.field.type in STRING_TYPES and resolved.field.type not in ("id", "reference"):
            return lambda row: v.lower() if (v := get(row)) is not None else None
        return get

    # -- projection

    def projection(self) -> Projection:
        """The nested projection of the SELECT list (FIELDS(...) expanded, duplicates refused)."""
        top = Projection(self.obj)
        explicit: set[str] = set()
        for item in self.query.select:
            if isinstance(item, FieldsCall):
                for fdef in self.obj.fields.values():
                    if item.kind == "ALL" or (item.kind == "CUSTOM") == fdef.custom:
                        top.items.setdefault(fdef.name, fdef)
                continue
            resolved = self.resolve(item)
            key = ".".join(
                [ref.relationship_name or "" for ref, _ in resolved.hops] + [resolved.field.name]
            ).lower()
            if key in explicit:
                raise error_at(
                    self.text,
                    item.pos,
                    f"duplicate field selected: {resolved.name}",
                    "MALFORMED_QUERY",
                )
            explicit.add(key)
            level = top
            for ref, target in resolved.hops:
                rel = ref.relationship_name or ref.name
                existing = level.items.get(rel)
                if not isinstance(existing, tuple):
                    existing = (ref, Projection(target))
                    level.items[rel] = existing
                level = existing[1]
            level.items.setdefault(resolved.field.name, resolved.field)
        if any(isinstance(i, FieldsCall) and i.kind != "STANDARD" for i in self.query.select) and (
            self.query.limit is None or self.query.limit > 200
        ):
            pos = next(i.pos for i in self.query.select if isinstance(i, FieldsCall))
            raise error_at(
                self.text, pos, "The SOQL FIELDS function must have a LIMIT of at most 200"
            )
        return top

    # -- predicates

    def predicate(self, cond: Condition) -> Predicate:
        """A row predicate for a WHERE condition."""
        if isinstance(cond, BoolOp):
            parts = [self.predicate(item) for item in cond.items]
            if cond.op == "NOT":
                inner = parts[0]
                return lambda row: not inner(row)
            if len(parts) == 2:
                first, second = parts
                if cond.op == "AND":
                    return lambda row: first(row) and second(row)
                return lambda row: first(row) or second(row)
            if cond.op == "AND":
                return lambda row: all(p(row) for p in parts)
            return lambda row: any(p(row) for p in parts)
        return self.comparison(cond)

    def value_error(self, fdef: FieldDef, literal: Literal) -> SoqlError:
        """Salesforce's type-mismatch error for a literal compared with ``fdef``."""
        kind = fdef.type
        if kind in STRING_TYPES:
            reason = (
                f"value of filter criterion for field '{fdef.name}' must be of type string and should "
                "be enclosed in quotes"
            )
        else:
            reason = (
                f"value of filter criterion for field '{fdef.name}' must be of type "
                f"{_TYPE_WORDS[kind]} and should not be enclosed in quotes"
            )
        return error_at(self.text, literal.token.pos, reason, "INVALID_FIELD")

    def value(self, fdef: FieldDef, literal: Literal) -> Any:
        """The literal converted to the field's stored type (``None`` for null); checks the type."""
        token = literal.token
        word = token.upper()
        if token.kind == "ident" and word == "NULL":
            return None
        kind = fdef.type
        if kind in STRING_TYPES:
            if token.kind != "string":
                raise self.value_error(fdef, literal)
            text = unescape(self.text, token)
            if kind in ("id", "reference"):
                normal = normalize_id(text)
                if normal is None:
                    raise error_at(
                        self.text,
                        token.pos,
                        f"invalid ID field: {text}",
                        "INVALID_QUERY_FILTER_OPERATOR",
                    )
                return normal
            return text.lower()
        if kind == "boolean":
            if token.kind != "ident" or word not in ("TRUE", "FALSE"):
                raise self.value_error(fdef, literal)
            return word == "TRUE"
        if kind in NUMBER_TYPES:
            if token.kind != "number":
                raise self.value_error(fdef, literal)
            return float(token.text)
        if kind == "datetime":
            if token.kind == "datetime":
                try:
                    return parse_datetime(token.text)
                except ValueError:
                    raise self.unexpected_literal(token) from None
            if token.kind == "ident" and word.split(":")[0] in DATE_LITERALS:
                return self.date_range(token, as_datetime=True)
            raise self.value_error(fdef, literal)
        if kind == "date":
            if token.kind == "date":
                try:
                    return date.fromisoformat(token.text)
                except ValueError:
                    raise self.unexpected_literal(token) from None
            if token.kind == "ident" and word.split(":")[0] in DATE_LITERALS:
                return self.date_range(token, as_datetime=False)
            raise self.value_error(fdef, literal)
        raise self.value_error(fdef, literal)  # pragma: no cover - every type is handled above

    def unexpected_literal(self, token: Token) -> SoqlError:
        """The error for a literal that looks right but is not a valid value (2026-13-45)."""
        return error_at(
            self.text,
            token.pos,
            f"line 1:{token.pos} no viable alternative at character '{token.text}'",
        )

    def date_range(self, token: Token, *, as_datetime: bool) -> tuple[Any, Any]:
        """``[start, end)`` of a relative date literal, in UTC dates or datetimes."""
        word, _, number = token.upper().partition(":")
        today = datetime.now(UTC).date()
        if word in ("LAST_N_DAYS", "NEXT_N_DAYS"):
            if not number:
                raise error_at(self.text, token.pos, f"unexpected token: '{token.text}'")
            n = int(number)
            start, end = (
                (today - timedelta(days=n), today + timedelta(days=1))
                if word == "LAST_N_DAYS"
                else (today, today + timedelta(days=n + 1))
            )
        else:
            offset = {"TODAY": 0, "YESTERDAY": -1, "TOMORROW": 1}[word]
            start = today + timedelta(days=offset)
            end = start + timedelta(days=1)
        if as_datetime:
            return (
                datetime(start.year, start.month, start.day, tzinfo=UTC),
                datetime(end.year, end.month, end.day, tzinfo=UTC),
            )
        return start, end

    def comparison(self, cmp: Comparison) -> Predicate:
        """A row predicate for one comparison; text compares case-insensitively, nulls as SOQL does."""
        resolved = self.resolve(cmp.path)
        fdef = resolved.field
        if not fdef.filterable:
            raise error_at(
                self.text,
                cmp.path.pos,
                f"field '{fdef.name}' can not be filtered in a query call",
                "INVALID_FIELD",
            )
        raw_get = self.getter(resolved)
        folded = fdef.type in STRING_TYPES and fdef.type not in ("id", "reference")
        get: Getter = (
            (lambda row: v.lower() if (v := raw_get(row)) is not None else None)
            if folded
            else raw_get
        )
        op = cmp.op
        if op == "LIKE":
            token = cmp.values[0].token
            if not folded:
                raise error_at(
                    self.text,
                    cmp.pos,
                    f"invalid operator on {fdef.type} field",
                    "INVALID_QUERY_FILTER_OPERATOR",
                )
            if token.kind != "string":
                raise self.value_error(fdef, cmp.values[0])
            regex = like_regex(self.text, token)
            match = regex.fullmatch
            return lambda row: (v := raw_get(row)) is not None and match(v) is not None
        if fdef.type == "boolean" and op not in ("=", "!=", "IN", "NOT IN"):
            raise error_at(
                self.text,
                cmp.pos,
                "invalid operator on boolean field",
                "INVALID_QUERY_FILTER_OPERATOR",
            )
        values = [self.value(fdef, literal) for literal in cmp.values]
        if op in ("IN", "NOT IN"):
            if any(isinstance(v, tuple) for v in values):
                raise self.unexpected_literal(cmp.values[0].token)
            has_null = None in values
            members = frozenset(v for v in values if v is not None)
            if op == "IN":
                return lambda row: v in members if (v := get(row)) is not None else has_null
            return lambda row: v not in members if (v := get(row)) is not None else not has_null
        value = values[0]
        if isinstance(value, tuple):
            return _range_predicate(get, op, value)
        if value is None:
            if op == "=":
                return lambda row: get(row) is None
            if op == "!=":
                return lambda row: get(row) is not None
            return lambda row: False
        if op == "=":
            return lambda row: get(row) == value
        if op == "!=":
            return lambda row: get(row) != value
        if op == "<":
            return lambda row: (v := get(row)) is not None and v < value
        if op == "<=":
            return lambda row: (v := get(row)) is not None and v <= value
        if op == ">":
            return lambda row: (v := get(row)) is not None and v > value
        return lambda row: (v := get(row)) is not None and v >= value

    def plain_field(self, path: Path) -> FieldDef | None:
        """The field of a path without relationship hops, or ``None``."""
        resolved = self.resolve(path)
        return None if resolved.hops else resolved.field

    def index_field(self) -> str | None:
        """The field of a sorted index that yields rows in this query's order, if there is one.

        That is ``ORDER BY F [ASC]`` or ``ORDER BY F, Id`` (ascending, nulls irrelevant) where
        ``F`` is a date-time, date or id field that is never null.
        """
        order = self.query.order
        if not order or len(order) > 2 or any(item.descending for item in order):
            return None
        first = self.plain_field(order[0].path)
        if first is None or first.nillable or first.type not in ("datetime", "date", "id"):
            return None
        if len(order) == 2:
            second = self.plain_field(order[1].path)
            if second is None or second.name != "Id":
                return None
        return first.name

    def lower_bound(self, cond: Condition, field_name: str) -> Any:
        """A value every matching row's ``field_name`` is at least, from the WHERE clause, or ``None``."""
        if isinstance(cond, Comparison):
            if cond.op not in (">", ">=", "="):
                return None
            fdef = self.plain_field(cond.path)
            if fdef is None or fdef.name != field_name:
                return None
            value = self.value(fdef, cond.values[0])
            return None if isinstance(value, tuple) else value
        if cond.op == "NOT":
            return None
        bounds = [self.lower_bound(item, field_name) for item in cond.items]
        if cond.op == "AND":
            known = [b for b in bounds if b is not None]
            return max(known) if known else None
        return None if any(b is None for b in bounds) else min(bounds)

    def compile(self) -> CompiledQuery:
        """The compiled query: projection, predicate, order, index plan, LIMIT and OFFSET."""
        projection = self.projection() if not self.query.count_only else Projection(self.obj)
        predicate = self.predicate(self.query.where) if self.query.where is not None else None
        order: list[tuple[Getter, bool, bool]] = []
        for item in self.query.order:
            resolved = self.resolve(item.path)
            if not resolved.field.sortable:
                raise error_at(
                    self.text,
                    item.path.pos,
                    f"field '{resolved.field.name}' can not be sorted in a query call",
                    "INVALID_FIELD",
                )
            nulls_first = True if item.nulls_first is None else item.nulls_first
            order.append((self.sort_getter(resolved), item.descending, nulls_first))
        index_field = self.index_field()
        lower = None
        if index_field and self.query.where is not None:
            lower = self.lower_bound(self.query.where, index_field)
        return CompiledQuery(
            index_field=index_field,
            lower_bound=lower,
            text=self.text,
            obj=self.obj,
            predicate=predicate,
            order=order,
            limit=self.query.limit,
            offset=self.query.offset,
            count_only=self.query.count_only,
            projection=projection,
            tables=self.tables,
        )


def _range_predicate(get: Getter, op: str, bounds: tuple[Any, Any]) -> Predicate:
    """A comparison against a relative date literal, which stands for the range ``[start, end)``."""
    start, end = bounds
    if op == "=":
        return lambda row: (v := get(row)) is not None and start <= v < end
    if op == "!=":
        return lambda row: (v := get(row)) is None or not start <= v < end
    if op == "<":
        return lambda row: (v := get(row)) is not None and v < start
    if op == "<=":
        return lambda row: (v := get(row)) is not None and v < end
    if op == ">":
        return lambda row: (v := get(row)) is not None and v >= end
    return lambda row: (v := get(row)) is not None and v >= start


def compile_query(text: str, schema: Schema, tables: TableLookup) -> CompiledQuery:
    """Parse and compile ``text`` against ``schema``; ``tables(name)`` gives live rows by id."""
    return _Compiler(text, parse(text), schema, tables).compile()

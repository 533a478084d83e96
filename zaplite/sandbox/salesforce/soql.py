"""A SOQL subset: tokenizer, parser, and a compiler to Python predicates, sort keys and projections.

Supported: ``SELECT`` field lists, relationship paths (``Owner.Name``), ``FIELDS(ALL|STANDARD|
CUSTOM)``, ``COUNT()``; ``FROM``; ``WHERE`` with ``AND`` / ``OR`` / ``NOT`` and parentheses
(mixing ``AND`` and ``OR`` without parentheses is an error, as in Salesforce), the comparison
operators ``= != <> < <= > >= IN NOT IN LIKE``; string, number, boolean, ``null``, date,
date-time and relative date literals (``TODAY``, ``LAST_N_DAYS:n`` ...); ``ORDER BY`` several
fields with ``ASC``/``DESC`` and ``NULLS FIRST``/``LAST``; ``LIMIT``; ``OFFSET``.

Errors are :class:`SoqlError` with Salesforce's error code and its message layout
(the query line, a caret, ``ERROR at Row:r:Column:c`` and the reason).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from .data import format_value, parse_datetime
from .ids import normalize_id
from .schema import NUMBER_TYPES, STRING_TYPES, FieldDef, ObjectDef, Schema

__all__ = ["CompiledQuery", "SoqlError", "compile_query", "escape_soql", "parse", "tokenize"]

Row = dict[str, Any]
Getter = Callable[[Row], Any]
Predicate = Callable[[Row], bool]


class SoqlError(ValueError):
    """A query Salesforce would reject: ``error_code`` (``MALFORMED_QUERY``...) and its message."""

    def __init__(self, message: str, error_code: str = "MALFORMED_QUERY") -> None:
        super().__init__(message)
        self.message = message
        self.error_code = error_code


def escape_soql(text: str) -> str:
    """``text`` escaped for use inside a single-quoted SOQL string literal."""
    return text.replace("\\", "\\\\").replace("'", "\\'")


# --------------------------------------------------------------------------- tokens

_UNESCAPES = {
    "n": "\n",
    "N": "\n",
    "r": "\r",
    "R": "\r",
    "t": "\t",
    "T": "\t",
    "b": "\b",
    "B": "\b",
    "f": "\f",
    "F": "\f",
    '"': '"',
    "'": "'",
    "\\": "\\",
}

_TOKEN_RE = re.compile(
    r"""
    (?P<ws>\s+)
  | (?P<string>'(?:[^'\\]|\\.)*')
  | (?P<datetime>\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,3})?(?:Z|[+-]\d{2}:\d{2}))
  | (?P<date>\d{4}-\d{2}-\d{2}(?![\dT:]))
  | (?P<number>[+-]?\d+(?:\.\d+)?(?![\w.]))
  | (?P<ident>[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*(?::\d+)?)
  | (?P<op>!=|<>|<=|>=|=|<|>)
  | (?P<punct>[(),])
    """,
    re.VERBOSE | re.DOTALL,
)


@dataclass(frozen=True)
class Token:
    """One lexical token: ``kind`` (ident, string, number, date, datetime, op, punct, eof)."""

    kind: str
    text: str
    pos: int

    def upper(self) -> str:
        """The token text in upper case (keywords are case-insensitive)."""
        return self.text.upper()


def _error_at(query: str, pos: int, reason: str, code: str = "MALFORMED_QUERY") -> SoqlError:
    """An error laid out as Salesforce does: the line, a caret under ``pos``, row and column."""
    pos = max(0, min(pos, len(query)))
    row = query.count("\n", 0, pos) + 1
    line_start = query.rfind("\n", 0, pos) + 1
    line_end = query.find("\n", pos)
    line = query[line_start : line_end if line_end != -1 else len(query)]
    column = pos - line_start + 1
    caret = " " * (column - 1) + "^"
    return SoqlError(f"\n{line}\n{caret}\nERROR at Row:{row}:Column:{column}\n{reason}", code)


def tokenize(query: str) -> list[Token]:
    """Split ``query`` into tokens, ending with an ``eof`` token; raises :class:`SoqlError`."""
    tokens: list[Token] = []
    pos = 0
    while pos < len(query):
        match = _TOKEN_RE.match(query, pos)
        if match is None:
            char = query[pos]
            if char == "'":
                raise _error_at(
                    query, pos, f"line 1:{pos} mismatched character '<EOF>' expecting '''"
                )
            raise _error_at(query, pos, f"line 1:{pos} no viable alternative at character '{char}'")
        kind = match.lastgroup or ""
        if kind != "ws":
            tokens.append(Token(kind, match.group(), pos))
        pos = match.end()
    tokens.append(Token("eof", "<EOF>", len(query)))
    return tokens


def unescape(query: str, token: Token) -> str:
    """The value of a string literal token, with SOQL backslash escapes resolved."""
    raw = token.text[1:-1]
    out: list[str] = []
    index = 0
    while index < len(raw):
        char = raw[index]
        if char != "\\":
            out.append(char)
            index += 1
            continue
        nxt = raw[index + 1]
        if nxt in _UNESCAPES:
            out.append(_UNESCAPES[nxt])
        elif nxt in "_%":
            out.append("\\" + nxt)
        else:
            raise _error_at(
                query,
                token.pos,
                f"Invalid string literal '{raw}'. Illegal character sequence '\\{nxt}' in string literal.",
            )
        index += 2
    return "".join(out)


def like_regex(query: str, token: Token) -> re.Pattern[str]:
    """The case-insensitive regex of a LIKE pattern (``%`` any run, ``_`` one character)."""
    raw = token.text[1:-1]
    parts: list[str] = []
    index = 0
    while index < len(raw):
        char = raw[index]
        if char == "\\":
            nxt = raw[index + 1]
            if nxt in "_%":
                parts.append(re.escape(nxt))
            elif nxt in _UNESCAPES:
                parts.append(re.escape(_UNESCAPES[nxt]))
            else:
                unescape(query, token)  # raises the illegal-escape error
            index += 2
            continue
        parts.append(".*" if char == "%" else "." if char == "_" else re.escape(char))
        index += 1
    return re.compile("".join(parts), re.IGNORECASE | re.DOTALL)


# --------------------------------------------------------------------------- AST


@dataclass
class Path:
    """A field path as written (``Owner.Name``), with its position in the query."""

    parts: list[str]
    pos: int


@dataclass
class FieldsCall:
    """``FIELDS(ALL)``, ``FIELDS(STANDARD)`` or ``FIELDS(CUSTOM)``."""

    kind: str
    pos: int


@dataclass
class Literal:
    """A literal value token."""

    token: Token


@dataclass
class Comparison:
    """``path op value`` or ``path [NOT] IN (values)``."""

    path: Path
    op: str
    values: list[Literal]
    pos: int


@dataclass
class BoolOp:
    """``AND`` / ``OR`` of several conditions, or ``NOT`` of one."""

    op: str
    items: list[Condition]


Condition = Comparison | BoolOp


@dataclass
class OrderItem:
    """One ``ORDER BY`` key."""

    path: Path
    descending: bool = False
    nulls_first: bool | None = None


@dataclass
class Query:
    """A parsed SELECT statement."""

    select: list[Path | FieldsCall]
    count_only: bool
    object_name: str
    object_pos: int
    where: Condition | None = None
    order: list[OrderItem] = field(default_factory=list)
    limit: int | None = None
    offset: int | None = None


_KEYWORDS = {
    "SELECT",
    "FROM",
    "WHERE",
    "AND",
    "OR",
    "NOT",
    "IN",
    "LIKE",
    "ORDER",
    "BY",
    "ASC",
    "DESC",
    "NULLS",
    "FIRST",
    "LAST",
    "LIMIT",
    "OFFSET",
    "GROUP",
    "HAVING",
    "INCLUDES",
    "EXCLUDES",
}

_DATE_LITERALS = {"TODAY", "YESTERDAY", "TOMORROW", "LAST_N_DAYS", "NEXT_N_DAYS"}


class _Parser:
    """Recursive-descent parser over the token list."""

    def __init__(self, query: str) -> None:
        self.query = query
        self.tokens = tokenize(query)
        self.index = 0

    @property
    def tok(self) -> Token:
        return self.tokens[self.index]

    def advance(self) -> Token:
        token = self.tokens[self.index]
        if token.kind != "eof":
            self.index += 1
        return token

    def unexpected(self, token: Token | None = None) -> SoqlError:
        token = token or self.tok
        return _error_at(self.query, token.pos, f"unexpected token: '{token.text}'")

    def is_kw(self, *words: str) -> bool:
        return self.tok.kind == "ident" and self.tok.upper() in words

    def expect_kw(self, word: str) -> Token:
        if not self.is_kw(word):
            raise self.unexpected()
        return self.advance()

    def expect_punct(self, char: str) -> Token:
        if self.tok.kind != "punct" or self.tok.text != char:
            raise self.unexpected()
        return self.advance()

    def path(self) -> Path:
        token = self.tok
        if token.kind != "ident" or token.upper() in _KEYWORDS or ":" in token.text:
            raise self.unexpected()
        self.advance()
        return Path(token.text.split("."), token.pos)

    def parse(self) -> Query:
        self.expect_kw("SELECT")
        select: list[Path | FieldsCall] = []
        count_only = False
        if self.is_kw("COUNT") and self.tokens[self.index + 1].text == "(":
            self.advance()
            self.expect_punct("(")
            self.expect_punct(")")
            count_only = True
        else:
            while True:
                if self.is_kw("FIELDS") and self.tokens[self.index + 1].text == "(":
                    start = self.advance()
                    self.expect_punct("(")
                    kind = self.tok
                    if kind.kind != "ident" or kind.upper() not in ("ALL", "STANDARD", "CUSTOM"):
                        raise self.unexpected()
                    self.advance()
                    self.expect_punct(")")
                    select.append(FieldsCall(kind.upper(), start.pos))
                else:
                    select.append(self.path())
                if self.tok.text != ",":
                    break
                self.advance()
        self.expect_kw("FROM")
        obj = self.tok
        if obj.kind != "ident" or "." in obj.text or obj.upper() in _KEYWORDS:
            raise self.unexpected()
        self.advance()
        query = Query(select, count_only, obj.text, obj.pos)
        if self.is_kw("WHERE"):
            self.advance()
            query.where = self.condition()
        if self.is_kw("ORDER"):
            self.advance()
            self.expect_kw("BY")
            while True:
                item = OrderItem(self.path())
                if self.is_kw("ASC", "DESC"):
                    item.descending = self.advance().upper() == "DESC"
                if self.is_kw("NULLS"):
                    self.advance()
                    if not self.is_kw("FIRST", "LAST"):
                        raise self.unexpected()
                    item.nulls_first = self.advance().upper() == "FIRST"
                query.order.append(item)
                if self.tok.text != ",":
                    break
                self.advance()
        if self.is_kw("LIMIT"):
            self.advance()
            query.limit = self.integer()
        if self.is_kw("OFFSET"):
            self.advance()
            token = self.tok
            query.offset = self.integer()
            if query.offset > 2000:
                raise _error_at(
                    self.query,
                    token.pos,
                    "Maximum SOQL offset allowed is 2000",
                    "NUMBER_OUTSIDE_VALID_RANGE",
                )
        if self.tok.kind != "eof":
            raise self.unexpected()
        return query

    def integer(self) -> int:
        token = self.tok
        if token.kind != "number" or not token.text.isdigit():
            raise self.unexpected()
        self.advance()
        return int(token.text)

    def condition(self) -> Condition:
        """``[NOT] simple`` followed by a chain of only ``AND`` or only ``OR`` terms."""
        if self.is_kw("NOT"):
            self.advance()
            first: Condition = BoolOp("NOT", [self.simple()])
        else:
            first = self.simple()
        if not self.is_kw("AND", "OR"):
            return first
        op = self.tok.upper()
        items = [first]
        while self.is_kw("AND", "OR"):
            if self.tok.upper() != op:
                raise self.unexpected()
            self.advance()
            items.append(self.simple())
        return BoolOp(op, items)

    def simple(self) -> Condition:
        if self.tok.kind == "punct" and self.tok.text == "(":
            self.advance()
            inner = self.condition()
            self.expect_punct(")")
            return inner
        path = self.path()
        token = self.tok
        if token.kind == "op":
            self.advance()
            op = "!=" if token.text == "<>" else token.text
            return Comparison(path, op, [self.literal()], token.pos)
        if self.is_kw("LIKE"):
            self.advance()
            return Comparison(path, "LIKE", [self.literal()], token.pos)
        negate = False
        if self.is_kw("NOT"):
            self.advance()
            negate = True
        if self.is_kw("IN"):
            self.advance()
            self.expect_punct("(")
            values = [self.literal()]
            while self.tok.text == ",":
                self.advance()
                values.append(self.literal())
            self.expect_punct(")")
            return Comparison(path, "NOT IN" if negate else "IN", values, token.pos)
        raise self.unexpected()

    def literal(self) -> Literal:
        token = self.tok
        if token.kind in ("string", "number", "date", "datetime"):
            self.advance()
            return Literal(token)
        if token.kind == "ident":
            word = token.upper()
            base = word.split(":")[0]
            if word in ("TRUE", "FALSE", "NULL") or base in _DATE_LITERALS:
                self.advance()
                return Literal(token)
        raise self.unexpected()


def parse(query: str) -> Query:
    """Parse a SOQL SELECT statement; raises :class:`SoqlError` (``MALFORMED_QUERY``)."""
    if not query.strip():
        raise SoqlError("A query string is required.", "MALFORMED_QUERY")
    return _Parser(query).parse()


# --------------------------------------------------------------------------- compiling

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


class _Compiler:
    def __init__(self, text: str, query: Query, schema: Schema, tables: TableLookup) -> None:
        self.text = text
        self.query = query
        self.schema = schema
        self.tables = tables
        obj = schema.get(query.object_name)
        if obj is None:
            raise _error_at(
                text, query.object_pos, _NO_TYPE.format(name=query.object_name), "INVALID_TYPE"
            )
        self.obj = obj

    def resolve(self, path: Path) -> Resolved:
        parts = list(path.parts)
        if len(parts) > 1 and parts[0].lower() == self.obj.name.lower():
            parts = parts[1:]
        obj = self.obj
        hops: list[tuple[FieldDef, ObjectDef]] = []
        for part in parts[:-1]:
            ref = obj.relationship(part)
            if ref is None or ref.reference_to is None:
                raise _error_at(
                    self.text, path.pos, _NO_RELATIONSHIP.format(name=part), "INVALID_FIELD"
                )
            target = self.schema.require(ref.reference_to)
            hops.append((ref, target))
            obj = target
        fdef = obj.field(parts[-1])
        if fdef is None:
            name = ".".join(path.parts) if len(path.parts) > 1 else parts[-1]
            raise _error_at(
                self.text, path.pos, _NO_COLUMN.format(name=name, entity=obj.name), "INVALID_FIELD"
            )
        return Resolved(hops, fdef, ".".join(path.parts))

    def getter(self, resolved: Resolved) -> Getter:
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
                raise _error_at(
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
            raise _error_at(
                self.text, pos, "The SOQL FIELDS function must have a LIMIT of at most 200"
            )
        return top

    # -- predicates

    def predicate(self, cond: Condition) -> Predicate:
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
        return _error_at(self.text, literal.token.pos, reason, "INVALID_FIELD")

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
                    raise _error_at(
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
            if token.kind == "ident" and word.split(":")[0] in _DATE_LITERALS:
                return self.date_range(token, as_datetime=True)
            raise self.value_error(fdef, literal)
        if kind == "date":
            if token.kind == "date":
                try:
                    return date.fromisoformat(token.text)
                except ValueError:
                    raise self.unexpected_literal(token) from None
            if token.kind == "ident" and word.split(":")[0] in _DATE_LITERALS:
                return self.date_range(token, as_datetime=False)
            raise self.value_error(fdef, literal)
        raise self.value_error(fdef, literal)  # pragma: no cover - every type is handled above

    def unexpected_literal(self, token: Token) -> SoqlError:
        return _error_at(
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
                raise _error_at(self.text, token.pos, f"unexpected token: '{token.text}'")
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
        resolved = self.resolve(cmp.path)
        fdef = resolved.field
        if not fdef.filterable:
            raise _error_at(
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
                raise _error_at(
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
            raise _error_at(
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
        projection = self.projection() if not self.query.count_only else Projection(self.obj)
        predicate = self.predicate(self.query.where) if self.query.where is not None else None
        order: list[tuple[Getter, bool, bool]] = []
        for item in self.query.order:
            resolved = self.resolve(item.path)
            if not resolved.field.sortable:
                raise _error_at(
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

"""The SOQL parser: a SELECT statement to an AST (mixing AND and OR needs parentheses)."""

from __future__ import annotations

from dataclasses import dataclass, field

from .lexer import SoqlError, Token, error_at, tokenize

__all__ = [
    "DATE_LITERALS",
    "BoolOp",
    "Comparison",
    "Condition",
    "FieldsCall",
    "Literal",
    "OrderItem",
    "Path",
    "Query",
    "parse",
]


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

DATE_LITERALS = {"TODAY", "YESTERDAY", "TOMORROW", "LAST_N_DAYS", "NEXT_N_DAYS"}


class _Parser:
    """Recursive-descent parser over the token list."""

    def __init__(self, query: str) -> None:
        self.query = query
        self.tokens = tokenize(query)
        self.index = 0

    @property
    def tok(self) -> Token:
        """The current token."""
        return self.tokens[self.index]

    def advance(self) -> Token:
        """Consume and return the current token (the end token is never consumed)."""
        token = self.tokens[self.index]
        if token.kind != "eof":
            self.index += 1
        return token

    def unexpected(self, token: Token | None = None) -> SoqlError:
        """Salesforce's ``unexpected token`` error at ``token`` (the current one by default)."""
        token = token or self.tok
        return error_at(self.query, token.pos, f"unexpected token: '{token.text}'")

    def is_kw(self, *words: str) -> bool:
        """Whether the current token is one of the keywords ``words``."""
        return self.tok.kind == "ident" and self.tok.upper() in words

    def expect_kw(self, word: str) -> Token:
        """Consume the keyword ``word`` or fail."""
        if not self.is_kw(word):
            raise self.unexpected()
        return self.advance()

    def expect_punct(self, char: str) -> Token:
        """Consume the punctuation ``char`` or fail."""
        if self.tok.kind != "punct" or self.tok.text != char:
            raise self.unexpected()
        return self.advance()

    def path(self) -> Path:
        """A field path (``Name``, ``Owner.Name``); keywords are not field names."""
        token = self.tok
        if token.kind != "ident" or token.upper() in _KEYWORDS or ":" in token.text:
            raise self.unexpected()
        self.advance()
        return Path(token.text.split("."), token.pos)

    def parse(self) -> Query:
        """The whole statement: SELECT list, FROM, WHERE, ORDER BY, LIMIT, OFFSET."""
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
                raise error_at(
                    self.query,
                    token.pos,
                    "Maximum SOQL offset allowed is 2000",
                    "NUMBER_OUTSIDE_VALID_RANGE",
                )
        if self.tok.kind != "eof":
            raise self.unexpected()
        return query

    def integer(self) -> int:
        """A non-negative integer literal (LIMIT, OFFSET)."""
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
        """A parenthesised condition or one comparison."""
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
        """A literal value: string, number, date, date-time, true/false/null or a date literal."""
        token = self.tok
        if token.kind in ("string", "number", "date", "datetime"):
            self.advance()
            return Literal(token)
        if token.kind == "ident":
            word = token.upper()
            base = word.split(":")[0]
            if word in ("TRUE", "FALSE", "NULL") or base in DATE_LITERALS:
                self.advance()
                return Literal(token)
        raise self.unexpected()


def parse(query: str) -> Query:
    """Parse a SOQL SELECT statement; raises :class:`SoqlError` (``MALFORMED_QUERY``)."""
    if not query.strip():
        raise SoqlError("A query string is required.", "MALFORMED_QUERY")
    return _Parser(query).parse()

"""SOQL tokens: the tokenizer, string-literal escapes, LIKE patterns, and the error layout."""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["SoqlError", "Token", "error_at", "escape_soql", "like_regex", "tokenize", "unescape"]


class SoqlError(ValueError):
    """A query Salesforce would reject: ``error_code`` (``MALFORMED_QUERY``...) and its message."""

    def __init__(self, message: str, error_code: str = "MALFORMED_QUERY") -> None:
        super().__init__(message)
        self.message = message
        self.error_code = error_code


def escape_soql(text: str) -> str:
    """``text`` escaped for use inside a single-quoted SOQL string literal."""
    return text.replace("\\", "\\\\").replace("'", "\\'")


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


def error_at(query: str, pos: int, reason: str, code: str = "MALFORMED_QUERY") -> SoqlError:
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
                raise error_at(
                    query, pos, f"line 1:{pos} mismatched character '<EOF>' expecting '''"
                )
            raise error_at(query, pos, f"line 1:{pos} no viable alternative at character '{char}'")
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
            raise error_at(
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

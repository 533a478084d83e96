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

from .compiler import compile_query
from .lexer import SoqlError, Token, escape_soql, like_regex, tokenize, unescape
from .parser import Query, parse
from .query import CompiledQuery, Projection

__all__ = [
    "CompiledQuery",
    "Projection",
    "Query",
    "SoqlError",
    "Token",
    "compile_query",
    "escape_soql",
    "like_regex",
    "parse",
    "tokenize",
    "unescape",
]

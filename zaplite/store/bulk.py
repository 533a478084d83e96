"""Fast bulk inserts for the hot path of :meth:`Store.commit_page`.

A page brings a thousand tasks and a thousand keys. Run through the ordinary
tables, SQLAlchemy would call a Python type processor for every JSON and
timestamp value of every row. Here the values are prepared once in Python
(JSON serialised with :mod:`zaplite.jsoncodec`, the page's one timestamp converted
once) and inserted through *raw* copies of the tables whose column types do no
per-row processing. The SQL is still compiled by SQLAlchemy for the dialect;
PostgreSQL takes the tasks with ``COPY`` (:func:`postgresql_copy`).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import Dialect

from zaplite.store import schema

__all__ = [
    "RawJSON",
    "flat_rows",
    "postgresql_copy",
    "raw_keys",
    "raw_tasks",
    "sqlite_insert",
    "stored_time",
]


class RawJSON(sa.TypeDecorator[str]):
    """Already serialised JSON text, passed through untouched (``JSONB`` on PostgreSQL)."""

    impl = sa.Text
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> sa.types.TypeEngine[Any]:
        """``JSONB`` on PostgreSQL (so psycopg's rendered cast is ``::JSONB``), else text."""
        if dialect.name == "postgresql":
            return dialect.type_descriptor(postgresql.JSONB())
        return dialect.type_descriptor(sa.Text())

    def bind_processor(self, dialect: Dialect) -> None:
        """No per-row work: the text is already JSON."""
        return None


def _raw_table(table: sa.Table, pg: bool) -> sa.Table:
    """A copy of ``table`` (same name and columns) whose types do no per-row work."""
    columns = []
    for column in table.columns:
        kind: Any = column.type
        if isinstance(kind, schema.UTCDateTime):
            kind = sa.DateTime(timezone=True) if pg else sa.Text()
        elif isinstance(kind, sa.JSON):
            kind = RawJSON()
        columns.append(
            sa.Column(
                column.name,
                kind,
                primary_key=column.primary_key,
                autoincrement=column.autoincrement,
            )
        )
    return sa.Table(table.name, sa.MetaData(), *columns)


_TABLES: dict[tuple[str, bool], sa.Table] = {}


def _cached(table: sa.Table, pg: bool) -> sa.Table:
    key = (table.name, pg)
    if key not in _TABLES:
        _TABLES[key] = _raw_table(table, pg)
    return _TABLES[key]


def raw_tasks(dialect: str) -> sa.Table:
    """The raw ``tasks`` table for ``dialect``."""
    return _cached(schema.tasks, dialect == "postgresql")


def raw_keys(dialect: str) -> sa.Table:
    """The raw ``zap_keys`` table for ``dialect``."""
    return _cached(schema.zap_keys, dialect == "postgresql")


def _quoted_columns(table: sa.Table, columns: Iterable[str]) -> str:
    """``"a", "b"`` for the SQL text; ``ValueError`` for a name that is not ``table``'s column."""
    names = list(columns)
    unknown = [name for name in names if name not in table.c]
    if unknown:
        raise ValueError(f"{table.name} has no column {unknown[0]!r}")
    return ", ".join(f'"{name}"' for name in names)


def sqlite_insert(
    table: sa.Table,
    columns: Iterable[str],
    *,
    conflict_ignored_on: Sequence[str] = (),
    positional: bool = False,
    rows: int = 1,
) -> str:
    """``INSERT`` text for ``exec_driver_sql`` on SQLite: named parameters, or ``?`` ones.

    SQLAlchemy turns every row's dict into the driver's parameters one by one (a fifth
    of a page's commit); sqlite3 takes the rows as they are: dicts by name, or, with
    ``positional``, tuples in ``columns`` order (faster again). With ``rows`` > 1 (and
    ``positional``) the statement inserts that many rows at once, their values given as
    one flat tuple (see :func:`flat_rows`). The column names come from the table's own
    columns, never from data.
    """
    names = list(columns)
    quoted = _quoted_columns(table, names)
    if rows != 1 and not positional:
        raise ValueError("several rows per statement need positional parameters")
    params = ", ".join("?" if positional else f":{name}" for name in names)
    values = ", ".join([f"({params})"] * rows)
    sql = f'INSERT INTO "{table.name}" ({quoted}) VALUES {values}'
    if conflict_ignored_on:
        sql += f" ON CONFLICT ({', '.join(conflict_ignored_on)}) DO NOTHING"
    return sql


def postgresql_copy(
    connection: sa.Connection,
    table: sa.Table,
    columns: Sequence[str],
    ids: Sequence[int],
    rows: Iterable[Sequence[Any]],
) -> None:
    """Insert ``rows`` into ``table`` with PostgreSQL's ``COPY``, each after its id in ``ids``.

    ``COPY ... FROM STDIN`` streams the rows in one command, where an ``executemany``
    sends one ``INSERT`` per row (psycopg pipelines them, but each is still bound,
    sent and answered). It runs on the connection's own transaction. A failure is
    raised as SQLAlchemy's ``DBAPIError``, as a failed statement would be.
    """
    quoted = _quoted_columns(table, columns)
    statement = f'COPY "{table.name}" ({quoted}) FROM STDIN'
    driver = connection.connection.driver_connection
    try:
        with driver.cursor() as cursor, cursor.copy(statement) as copy:  # type: ignore[union-attr]
            for row_id, row in zip(ids, rows, strict=True):
                copy.write_row((row_id, *row))
    except connection.dialect.loaded_dbapi.Error as error:
        raise sa.exc.DBAPIError.instance(
            statement, None, error, connection.dialect.loaded_dbapi.Error
        ) from error


def flat_rows(rows: Sequence[Sequence[Any]], per_statement: int) -> list[tuple[Any, ...]]:
    """``rows`` in groups of ``per_statement``, each group's values as one flat tuple.

    The parameters of :func:`sqlite_insert` with ``rows=per_statement``; the last group
    may be shorter (it needs a statement of its own size).
    """
    return [
        tuple(itertools.chain.from_iterable(rows[first : first + per_statement]))
        for first in range(0, len(rows), per_statement)
    ]


def stored_time(value: datetime | None, dialect: str) -> Any:
    """``value`` as a raw table column takes it: aware UTC, or SQLite's naive UTC text."""
    if value is None:
        return None
    value = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    if dialect == "postgresql":
        return value
    return value.replace(tzinfo=None).strftime("%Y-%m-%d %H:%M:%S.%f")

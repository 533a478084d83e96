"""Read a zaplite store from the outside (plain SQL), without opening it through zaplite."""

from __future__ import annotations

from collections import Counter
from typing import Any

import sqlalchemy as sa

__all__ = ["committed_tasks", "run_statuses", "task_keys"]


def _engine(url: str) -> sa.Engine:
    if url.startswith("postgresql://"):
        url = url.replace("postgresql://", "postgresql+psycopg://", 1)
    return sa.create_engine(url, poolclass=sa.pool.NullPool)


def committed_tasks(url: str, zap_id: str | None = None) -> int:
    """How many tasks the store holds (of one zap, or of all); 0 before the schema exists."""
    engine = _engine(url)
    try:
        with engine.connect() as connection:
            if not sa.inspect(connection).has_table("tasks"):
                return 0
            query = "SELECT count(*) FROM tasks"
            params: dict[str, Any] = {}
            if zap_id is not None:
                query += " WHERE zap_id = :zap"
                params["zap"] = zap_id
            return int(connection.execute(sa.text(query), params).scalar_one())
    finally:
        engine.dispose()


def task_keys(url: str) -> Counter[str]:
    """How many tasks each record key has, over every zap."""
    engine = _engine(url)
    try:
        with engine.connect() as connection:
            rows = connection.execute(sa.text("SELECT record_key FROM tasks")).scalars()
            return Counter(str(key) for key in rows)
    finally:
        engine.dispose()


def run_statuses(url: str) -> dict[int, str]:
    """Each run row's status by its id; empty before the schema exists."""
    engine = _engine(url)
    try:
        with engine.connect() as connection:
            if not sa.inspect(connection).has_table("runs"):
                return {}
            rows = connection.execute(sa.text("SELECT id, status FROM runs ORDER BY id"))
            return {int(run_id): str(status) for run_id, status in rows}
    finally:
        engine.dispose()

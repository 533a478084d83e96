"""Schema migrations: fresh databases, re-opening, the 0001 path, newer databases."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from tests.support.stores import needs_postgres
from zaplite.errors import FileError
from zaplite.store import NewTask, Store
from zaplite.store.connect import create_store_engine, parse_url
from zaplite.store.migrate import (
    HEAD_REVISION,
    MIGRATIONS_DIR,
    alembic_config,
    current_revisions,
    head_revision,
)
from zaplite.store.schema import metadata


def _engine(url: str) -> sa.Engine:
    return create_store_engine(parse_url(url))


def _revisions(url: str) -> tuple[str, ...]:
    engine = _engine(url)
    try:
        with engine.connect() as connection:
            return current_revisions(connection)
    finally:
        engine.dispose()


def test_a_fresh_database_gets_the_head_revision(store: Store, store_url: str) -> None:
    assert _revisions(store_url) == (head_revision(),)
    with store.engine.connect() as connection:
        tables = set(sa.inspect(connection).get_table_names())
    assert set(metadata.tables) | {"alembic_version"} <= tables


def _describe(connection: sa.Connection) -> dict[str, Any]:
    """Every table's columns, keys, indexes (with partial conditions) and storage, as reflected."""
    inspector = sa.inspect(connection)
    described: dict[str, Any] = {}
    for table in sorted(inspector.get_table_names()):
        indexes = []
        for index in inspector.get_indexes(table):
            options = {k: str(v) for k, v in index.get("dialect_options", {}).items()}
            indexes.append((index["name"], tuple(index["column_names"]), index["unique"], options))
        described[table] = {
            "columns": [
                (c["name"], str(c["type"]), c["nullable"], str(c.get("default")))
                for c in inspector.get_columns(table)
            ],
            "pk": inspector.get_pk_constraint(table),
            "fks": inspector.get_foreign_keys(table),
            "unique": inspector.get_unique_constraints(table),
            "indexes": sorted(indexes),
        }
    if connection.dialect.name == "sqlite":
        for table, sql in connection.exec_driver_sql(
            "SELECT name, sql FROM sqlite_master WHERE type = 'table'"
        ):
            described[table]["without_rowid"] = "WITHOUT ROWID" in sql.upper()
    return described


def _built_by_migrations(url: str) -> dict[str, Any]:
    engine = _engine(url)
    try:
        with engine.begin() as connection:
            command.upgrade(alembic_config(connection), "heads")
        with engine.connect() as connection:
            context = MigrationContext.configure(
                connection, opts={"compare_type": True, "compare_server_default": True}
            )
            assert compare_metadata(context, metadata) == []
            return _describe(connection)
    finally:
        engine.dispose()


def test_a_new_store_is_exactly_what_the_migrations_build(
    store_url: str, backend: str, tmp_path: Path
) -> None:
    """A new store is created from schema.py and stamped; the migrations must agree with it."""
    migrated = _built_by_migrations(store_url)
    if backend == "sqlite":
        fresh_url = f"sqlite:///{tmp_path / 'fresh.db'}"
    else:  # the same database, emptied
        fresh_url = store_url
        engine = _engine(store_url)
        with engine.begin() as connection:
            connection.exec_driver_sql("DROP SCHEMA public CASCADE")
            connection.exec_driver_sql("CREATE SCHEMA public")
        engine.dispose()
    with Store(fresh_url) as store, store.engine.connect() as connection:
        created = _describe(connection)
    assert _revisions(fresh_url) == (HEAD_REVISION,)
    assert created == migrated


def test_creating_a_new_store_does_not_import_alembic(tmp_path: Path) -> None:
    code = (
        "import sys; from zaplite.store import Store; "
        f"Store('sqlite:///{tmp_path / 'new.db'}').close(); "
        "print('alembic' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_reopening_is_idempotent_and_keeps_the_data(store_url: str) -> None:
    with Store(store_url) as first:
        first.commit_page(
            "z",
            None,
            tasks=[NewTask("k", {"Id": "k"}, "success", [])],
            cursor={"ts": 5},
            keys=["k"],
        )
    for _ in range(2):
        with Store(store_url) as again:
            assert again.get_cursor("z") == {"ts": 5}
            assert [t.record_key for t in again.list_tasks()] == ["k"]
    assert _revisions(store_url) == (head_revision(),)


def test_a_database_created_by_0001_opens_and_is_upgraded(store_url: str) -> None:
    engine = _engine(store_url)
    try:
        with engine.begin() as connection:
            command.upgrade(alembic_config(connection), "0001")
        with engine.begin() as connection:  # data written by the 0001 release
            connection.execute(
                sa.text(
                    "INSERT INTO zap_cursors (zap_id, cursor, updated_at) "
                    "VALUES ('z', '{\"ts\": 1}', '2026-01-08 12:00:00')"
                )
            )
    finally:
        engine.dispose()
    assert _revisions(store_url) == ("0001",)
    with Store(store_url) as store:
        assert store.get_cursor("z") == {"ts": 1}
        assert store.get_status("z").has_cursor
    assert _revisions(store_url) == (head_revision(),)


def test_a_database_from_a_newer_release_is_refused(store_url: str, backend: str) -> None:
    Store(store_url).close()
    engine = _engine(store_url)
    try:
        with engine.begin() as connection:
            connection.execute(sa.text("UPDATE alembic_version SET version_num = '0099_future'"))
    finally:
        engine.dispose()
    with pytest.raises(FileError) as caught:
        Store(store_url)
    message = str(caught.value)
    assert "newer zaplite release" in message and "0099_future" in message
    assert caught.value.field == "store.url"
    assert "\n" not in message


def test_tables_of_another_program_are_not_taken_over(store_url: str) -> None:
    engine = _engine(store_url)
    try:
        with engine.begin() as connection:
            connection.execute(sa.text("CREATE TABLE tasks (id INTEGER PRIMARY KEY, what TEXT)"))
    finally:
        engine.dispose()
    with pytest.raises(FileError, match=r"tables zaplite did not create \(tasks\)"):
        Store(store_url)


def test_create_false_needs_an_existing_store(store_url: str, backend: str) -> None:
    with pytest.raises(FileError, match="does not exist" if backend == "sqlite" else "no zaplite"):
        Store(store_url, create=False)
    Store(store_url).close()
    with Store(store_url, create=False) as store:
        assert store.list_runs() == []


def test_the_migrations_ship_inside_the_package() -> None:
    assert MIGRATIONS_DIR.parent == Path(__import__("zaplite.store").store.__file__).parent
    assert (MIGRATIONS_DIR / "env.py").is_file()
    assert (MIGRATIONS_DIR / "script.py.mako").is_file()
    assert (MIGRATIONS_DIR / "versions" / "0001_initial.py").is_file()
    assert not list(Path(MIGRATIONS_DIR).glob("alembic.ini"))


def test_opening_a_current_store_logs_nothing(
    store_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    Store(store_url).close()
    with caplog.at_level("DEBUG"):
        Store(store_url).close()
    assert [r.getMessage() for r in caplog.records if r.name.startswith("alembic")] == []


def test_an_in_memory_store_works_across_threads() -> None:
    from concurrent.futures import ThreadPoolExecutor

    with Store("sqlite://") as store:
        with ThreadPoolExecutor(2) as pool:
            list(pool.map(lambda n: store.start_run(f"z{n}"), range(4)))
        assert len(store.list_runs()) == 4


def test_the_head_revision_constant_is_alembics_head() -> None:
    assert head_revision() == HEAD_REVISION


def test_opening_a_current_store_does_not_import_alembic(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/store.db"
    Store(url).close()  # created and migrated: alembic is needed here
    probe = (
        "import sys; from zaplite.store import Store; "
        f"Store({url!r}).close(); print('alembic' in sys.modules)"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, check=True
    )
    assert result.stdout.strip() == "False"


def test_0002_keeps_the_dedup_keys_and_tasks_of_a_0001_store(store_url: str) -> None:
    engine = _engine(store_url)
    try:
        with engine.begin() as connection:
            command.upgrade(alembic_config(connection), "0001")
        with engine.begin() as connection:  # written by the 0001 release
            connection.execute(
                sa.text(
                    "INSERT INTO zap_keys (zap_id, key, watermark) VALUES "
                    "('z', 'k1', '2026-01-08 12:00:00'), ('z', 'k2', NULL), "
                    "('y', 'k1', '2026-01-08 12:00:00')"
                )
            )
            connection.execute(
                sa.text(
                    "INSERT INTO tasks (zap_id, record_key, record, status, steps, attempts, "
                    "created_at, updated_at) VALUES "
                    "('z', 'k1', '{}', 'success', '[]', 1, '2026-01-08 12:00:00', "
                    "'2026-01-08 12:00:00'), "
                    "('z', 'k2', '{}', 'failed', '[]', 1, '2026-01-08 12:00:00', "
                    "'2026-01-08 12:00:00')"
                )
            )
    finally:
        engine.dispose()
    with Store(store_url) as store:
        assert store.known_keys("z", ["k1", "k2", "k3"]) == {"k1", "k2"}
        assert store.known_keys("y", ["k1", "k2"]) == {"k1"}
        assert store.count_tasks(zap_id="z") == {"success": 1, "failed": 1, "filtered": 0}
        assert [t.record_key for t in store.list_tasks(zap_id="z", status="failed")] == ["k2"]
        store.commit_page("z", None, tasks=[], cursor=1, keys=["k2", "k3"])  # k2: kept as is
        assert store.known_keys("z", ["k1", "k2", "k3"]) == {"k1", "k2", "k3"}
    assert _revisions(store_url) == (HEAD_REVISION,)


def test_0003_counts_the_tasks_of_a_0002_store_by_hour(store_url: str) -> None:
    engine = _engine(store_url)
    try:
        with engine.begin() as connection:
            command.upgrade(alembic_config(connection), "0002")
        with engine.begin() as connection:  # written by the 0002 release
            connection.execute(
                sa.text(
                    "INSERT INTO tasks (zap_id, record_key, record, status, steps, attempts, "
                    "created_at, updated_at) VALUES "
                    "('z', 'a', '{}', 'success', '[]', 1, '2026-01-08 12:00:00', "
                    "'2026-01-08 12:00:00'), "
                    "('z', 'b', '{}', 'success', '[]', 1, '2026-01-08 12:59:59.5', "
                    "'2026-01-08 12:59:59.5'), "
                    "('z', 'c|1', '{}', 'failed', '[]', 1, '2026-01-08 13:10:00', "
                    "'2026-01-08 13:10:00'), "
                    "('y', 'a', '{}', 'success', '[]', 1, '2026-01-08 13:10:00', "
                    "'2026-01-08 13:10:00')"
                )
            )
    finally:
        engine.dispose()
    with Store(store_url) as store:
        at = datetime(2026, 1, 8, 13, 30, tzinfo=UTC)
        activity = store.zap_activity(["z", "y"], now=at)
        assert activity["z"].counts == {"success": 2, "failed": 1, "filtered": 0}
        assert activity["z"].hourly[-2:] == [2, 0]
        assert activity["y"].hourly[-1] == 1
        assert [t.record_key for t in store.search_tasks("z", "c")] == ["c|1"]
    assert _revisions(store_url) == (HEAD_REVISION,)


def test_0002_downgrades_to_0001_and_back_keeping_the_keys(store_url: str) -> None:
    with Store(store_url) as store:
        store.commit_page("z", None, tasks=[], cursor=1, keys=["a", "b"])
    engine = _engine(store_url)
    try:
        with engine.begin() as connection:
            command.downgrade(alembic_config(connection), "0001")
        with engine.connect() as connection:
            columns = {c["name"] for c in sa.inspect(connection).get_columns("zap_keys")}
            assert "id" in columns
    finally:
        engine.dispose()
    with Store(store_url) as store:
        assert store.known_keys("z", ["a", "b", "c"]) == {"a", "b"}
    assert _revisions(store_url) == (head_revision(),)


def test_lists_of_unsuccessful_tasks_use_the_partial_status_index(tmp_path: Path) -> None:
    with Store(f"sqlite:///{tmp_path / 'z.db'}") as store:
        failed = NewTask(record_key="k", record={}, status="failed", steps=[], error="no")
        store.commit_page("z", None, tasks=[failed], cursor=1, keys=["k"])
        captured: list[tuple[str, object]] = []

        @sa.event.listens_for(store.engine, "before_cursor_execute")
        def note(conn: object, cursor: object, statement: str, params: object, *_: object) -> None:
            if statement.startswith("SELECT") and "FROM tasks" in statement:
                captured.append((statement, params))

        assert [t.record_key for t in store.list_tasks(zap_id="z", status="failed")] == ["k"]
        assert [t.record_key for t in store.list_tasks(status="failed")] == ["k"]
        with store.engine.connect() as connection:
            assert len(captured) == 2
            for statement, params in captured:
                plan = " ".join(
                    str(row[-1])
                    for row in connection.exec_driver_sql(
                        "EXPLAIN QUERY PLAN " + statement,
                        params,  # type: ignore[arg-type]
                    )
                )
                assert "ix_tasks_zap_id_status_id" in plan or "ix_tasks_status_id" in plan, plan


@pytest.mark.postgres
@needs_postgres
def test_a_postgresql_connection_gives_up_on_a_silent_server_and_the_url_can_say_otherwise(
    postgres_url: str,
) -> None:
    def options(url: str) -> dict[str, str]:
        engine = _engine(url)
        try:
            with engine.connect() as connection:
                return dict(connection.connection.dbapi_connection.info.get_parameters())
        finally:
            engine.dispose()

    said = options(postgres_url)
    assert said["keepalives"] == "1" and said["keepalives_idle"] == "15"
    assert said["tcp_user_timeout"] == "30000"
    separator = "&" if "?" in postgres_url else "?"
    said = options(f"{postgres_url}{separator}keepalives_idle=120")
    assert said["keepalives_idle"] == "120" and said["keepalives_count"] == "3"

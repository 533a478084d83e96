"""Bring a database to this release's schema with alembic, run from code.

No ``alembic.ini`` is needed: the configuration is built here with
``script_location`` pointing at the ``migrations`` folder inside the package (so
it ships in the wheel). :func:`upgrade` runs on every :class:`Store` open: a new
database gets the whole schema at the newest revision, an older one is upgraded in
place, a current one is left alone, and one written by a newer release is refused.

alembic is imported only when an existing database is not at :data:`HEAD_REVISION`:
the store is opened by every command, and importing alembic costs more than the
rest of opening a current database (a new one is created from the schema directly).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import sqlalchemy as sa

from zaplite.store import schema

if TYPE_CHECKING:
    from alembic.config import Config

__all__ = [
    "HEAD_REVISION",
    "MIGRATIONS_DIR",
    "EmptyDatabase",
    "ForeignTables",
    "NewerDatabase",
    "alembic_config",
    "create_at_head",
    "current_revisions",
    "head_revision",
    "upgrade",
]

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
"""The alembic script directory, inside the package."""

HEAD_REVISION = "0008"
"""The newest revision in ``migrations/versions`` (a test checks it against alembic's head)."""

_VERSION_TABLE = "alembic_version"
_LOCK_KEY = 0x7A61706C  # "zapl": serialises concurrent upgrades on PostgreSQL


class NewerDatabase(Exception):
    """The database carries a schema revision this release does not know."""

    def __init__(self, revision: str) -> None:
        super().__init__(revision)
        self.revision = revision


class EmptyDatabase(Exception):
    """The database holds no zaplite schema and creating one was not allowed."""


class ForeignTables(Exception):
    """The database has no zaplite revision but already holds tables with zaplite's names."""

    def __init__(self, names: list[str]) -> None:
        super().__init__(", ".join(names))
        self.names = names


def alembic_config(connection: sa.Connection | None = None) -> Config:
    """An alembic configuration for the packaged migrations, optionally bound to ``connection``."""
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["connection"] = connection
    return config


def head_revision() -> str:
    """The newest schema revision this release knows, as alembic reads the scripts."""
    from alembic.script import ScriptDirectory

    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None
    return head


def current_revisions(connection: sa.Connection) -> tuple[str, ...]:
    """The revisions the database is stamped with (empty for a new database).

    Read directly rather than through alembic's ``MigrationContext``, which logs a
    line at INFO on every open; the store is opened by every command.
    """
    if not sa.inspect(connection).has_table(_VERSION_TABLE):
        return ()
    version = sa.table(_VERSION_TABLE, sa.column("version_num", sa.String))
    return tuple(connection.execute(sa.select(version.c.version_num)).scalars())


def upgrade(engine: sa.Engine, *, create: bool = True) -> None:
    """Bring the database to the newest revision, in one transaction.

    A new database is created from :mod:`~zaplite.store.schema` and stamped with
    :data:`HEAD_REVISION`, as alembic advises for building a current database from
    scratch (a test checks that this gives exactly what the migrations build); an
    older one is upgraded by alembic. Raises :class:`NewerDatabase` for an unknown
    revision, :class:`EmptyDatabase` when there is no schema and ``create`` is false,
    and :class:`ForeignTables` when unstamped tables would collide with ours.
    """
    with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            connection.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": _LOCK_KEY})
        current = current_revisions(connection)
        if current == (HEAD_REVISION,):
            return  # the usual case: nothing to do, and no need for alembic
        # In the same transaction as the check: two processes opening a new store at
        # once take turns, the second finding the schema the first created.
        if not current:
            if not create:
                raise EmptyDatabase()
            existing = set(sa.inspect(connection).get_table_names())
            clashing = sorted(existing & set(schema.metadata.tables))
            if clashing:
                raise ForeignTables(clashing)
            create_at_head(connection)
            return
        from alembic import command
        from alembic.script import ScriptDirectory

        config = alembic_config()
        script = ScriptDirectory.from_config(config)
        known = {revision.revision for revision in script.walk_revisions()}
        for revision in current:
            if revision not in known:
                raise NewerDatabase(revision)
        if set(current) == set(script.get_heads()):
            return
        config.attributes["connection"] = connection
        command.upgrade(config, "heads")


def create_at_head(connection: sa.Connection) -> None:
    """Create every table of the schema in an empty database and stamp it :data:`HEAD_REVISION`.

    The version table is alembic's own (``alembic_version``, its ``version_num`` key
    named ``alembic_version_pkc``), so later releases upgrade it with alembic. Doing
    this without alembic saves importing it and replaying every migration on the
    first open of every new store.
    """
    schema.metadata.create_all(connection)
    version = sa.Table(
        _VERSION_TABLE,
        sa.MetaData(),
        sa.Column("version_num", sa.String(32), nullable=False),
        sa.PrimaryKeyConstraint("version_num", name="alembic_version_pkc"),
    )
    version.create(connection)
    connection.execute(version.insert().values(version_num=HEAD_REVISION))

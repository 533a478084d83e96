"""Alembic environment for the zaplite store.

The store runs migrations from code (:func:`zaplite.store.migrate.upgrade`) and
passes its open connection in ``config.attributes["connection"]``. To write a new
revision, generate it against a database at the current head and review it::

    from alembic import command
    from zaplite.store.migrate import alembic_config
    config = alembic_config()
    config.set_main_option("sqlalchemy.url", "sqlite:///dev.db")
    command.revision(config, "what changed", autogenerate=True, rev_id="0002")

Without a connection, ``sqlalchemy.url`` is used (offline mode prints the SQL).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import context

from zaplite.store.schema import metadata

config = context.config


def _configure(connection: sa.Connection) -> None:
    """Configure the context for ``connection`` and run the migrations."""
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def _run_offline() -> None:
    """Emit the SQL for ``sqlalchemy.url`` instead of running it (``alembic upgrade --sql``)."""
    context.configure(
        url=config.get_main_option("sqlalchemy.url"),
        target_metadata=metadata,
        literal_binds=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def _run_online() -> None:
    """Run against the connection the store passed, or one made from ``sqlalchemy.url``."""
    connection = config.attributes.get("connection")
    if connection is not None:
        _configure(connection)
        return
    from zaplite.store.connect import create_store_engine, parse_url

    engine = create_store_engine(parse_url(config.get_main_option("sqlalchemy.url") or ""))
    try:
        with engine.begin() as own:
            _configure(own)
    finally:
        engine.dispose()


if context.is_offline_mode():
    _run_offline()
else:
    _run_online()

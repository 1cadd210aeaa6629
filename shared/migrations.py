"""Alembic for every service: each has its own history in `services/<name>/migrations`.

Migrations run on a synchronous driver (psycopg, sqlite3) so they can be called from
anywhere, inside an event loop or not.
"""

from __future__ import annotations

import contextlib
import sqlite3
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import MetaData, engine_from_config, pool
from sqlalchemy.engine import make_url

SYNC_DRIVERS = {"sqlite": "sqlite", "postgresql": "postgresql+psycopg"}


def sync_url(url: str) -> str:
    parsed = make_url(url)
    return parsed.set(drivername=SYNC_DRIVERS[parsed.get_backend_name()]).render_as_string(
        hide_password=False
    )


def alembic_config(script_location: str, database_url: str) -> Config:
    """`script_location` is a package path such as `services.catalogue:migrations`."""
    config = Config()
    config.set_main_option("script_location", script_location)
    config.set_main_option("sqlalchemy.url", sync_url(database_url).replace("%", "%%"))
    config.attributes["configure_logger"] = False
    return config


def upgrade(script_location: str, database_url: str, revision: str = "head") -> None:
    """Create or bring the database up to date (creating the SQLite folder if needed)."""
    parsed = make_url(database_url)
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        # WAL is a lasting property of the file: set here, before any service connects, so
        # that connections opening at once never race to switch it. The switch needs the file
        # alone, and SQLite refuses it at once ("database is locked") rather than waiting
        # while another connection reads.
        with contextlib.closing(sqlite3.connect(parsed.database)) as connection:
            connection.execute("PRAGMA journal_mode=WAL")
    command.upgrade(alembic_config(script_location, database_url), revision)


def run_migrations(context: Any, metadata: MetaData) -> None:
    """The body of every service's `migrations/env.py`."""
    config = context.config
    if context.is_offline_mode():
        context.configure(
            url=config.get_main_option("sqlalchemy.url"),
            target_metadata=metadata,
            literal_binds=True,
        )
        with context.begin_transaction():
            context.run_migrations()
        return
    engine = engine_from_config(
        config.get_section(config.config_ini_section, {}),
        prefix="sqlalchemy.",
        poolclass=pool.NullPool,
    )
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=metadata,
            render_as_batch=connection.dialect.name == "sqlite",
        )
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()

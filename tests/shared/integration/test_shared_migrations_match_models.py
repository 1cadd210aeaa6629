"""Each service's migrations, run to their head, make the tables its models declare: a
column changed in a model without a migration (or the other way) fails here, on SQLite and
on Postgres, rather than on a deployed database."""

from __future__ import annotations

from collections.abc import Iterator
from importlib import import_module

import pytest
import sqlalchemy as sa
from advanced_alchemy.types import GUID
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from shared.migrations import sync_url, upgrade

pytestmark = pytest.mark.integration


@pytest.fixture
def engine(database_url: str) -> Iterator[sa.Engine]:
    made = sa.create_engine(sync_url(database_url), poolclass=sa.pool.NullPool)
    yield made
    made.dispose()


def compare_type(
    context: MigrationContext,
    inspected: sa.Column[object],
    declared: sa.Column[object],
    inspected_type: sa.types.TypeEngine[object],
    declared_type: sa.types.TypeEngine[object],
) -> bool | None:
    """Alembic's own comparison, except that SQLite reads back a GUID column (stored as
    16 bytes) as NUMERIC(16): the same column, not a change."""
    if context.dialect.name == "sqlite" and isinstance(declared_type, GUID):
        return False
    return None


@pytest.mark.parametrize("service", ["catalogue", "checkout", "recommendation"])
def test_migrations_make_the_tables_the_models_declare(
    service: str, database_url: str, engine: sa.Engine
) -> None:
    upgrade(f"services.{service}:migrations", database_url)
    metadata = import_module(f"services.{service}.models").Base.metadata

    with engine.connect() as connection:
        differences = compare_metadata(
            MigrationContext.configure(connection, opts={"compare_type": compare_type}), metadata
        )

    assert differences == []

"""A SQLite database is in WAL mode from its first migration, before any service connects."""

from __future__ import annotations

import contextlib
import sqlite3
from pathlib import Path

from shared.migrations import upgrade


def test_a_migrated_sqlite_file_is_already_in_wal_mode(tmp_path: Path) -> None:
    path = tmp_path / "data" / "catalogue.db"
    upgrade("services.catalogue:migrations", f"sqlite+aiosqlite:///{path}")
    with contextlib.closing(sqlite3.connect(path)) as plain:
        assert plain.execute("PRAGMA journal_mode").fetchone() == ("wal",)

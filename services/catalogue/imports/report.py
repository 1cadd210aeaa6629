"""What an import did: how many books were created, updated, left alone or skipped, and why."""

from __future__ import annotations

import msgspec

from services.catalogue.imports.records import RecordError


class ImportReport(msgspec.Struct, frozen=True, kw_only=True):
    records: int
    """Records in the file (books and bad records)."""
    created: int
    updated: int
    unchanged: int
    errors: tuple[RecordError, ...]
    """The skipped records, in file order, each with its line or record number and reason."""

    @property
    def skipped(self) -> int:
        return len(self.errors)

    @property
    def complete(self) -> bool:
        """True when every record in the file was imported."""
        return not self.errors

    def summary(self) -> str:
        return (
            f"{self.records} records: {self.created} created, {self.updated} updated, "
            f"{self.unchanged} unchanged, {self.skipped} skipped"
        )

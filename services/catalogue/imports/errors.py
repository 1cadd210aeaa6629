"""Why a whole file is refused (nothing from it is written), or why writing it stopped part way."""

from __future__ import annotations

from services.catalogue.imports.limits import MB
from shared.errors import InvalidInput


class ImportRefused(InvalidInput):
    """The file cannot be imported at all (missing, empty, binary, malformed, wrong format)."""


class ImportTooLarge(ImportRefused):
    """The file is over the most an import may be (every record is held in memory before any
    is written)."""

    status_code = 413

    def __init__(self, limit_bytes: int) -> None:
        super().__init__(
            f"the file is over {limit_bytes // MB} MB, the most an import may be: split it into "
            "smaller files and import each"
        )
        self.limit_bytes = limit_bytes


class ImportInterrupted(Exception):
    """Writing failed after some of the file's books were written: `message` says which."""

    def __init__(self, message: str, *, written: int) -> None:
        super().__init__(message)
        self.message = message
        self.written = written

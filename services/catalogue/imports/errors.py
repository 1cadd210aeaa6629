"""Why a whole file is refused (nothing from it is written), or why writing it stopped part way."""

from __future__ import annotations

from shared.errors import InvalidInput


class ImportRefused(InvalidInput):
    """The file cannot be imported at all (missing, empty, binary, malformed, wrong format)."""


class ImportInterrupted(Exception):
    """Writing failed after some of the file's books were written: `message` says which."""

    def __init__(self, message: str, *, written: int) -> None:
        super().__init__(message)
        self.message = message
        self.written = written

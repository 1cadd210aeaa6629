"""Why a whole file is refused: nothing from it is written."""

from __future__ import annotations

from shared.errors import InvalidInput


class ImportRefused(InvalidInput):
    """The file cannot be imported at all (missing, empty, binary, malformed, wrong format)."""

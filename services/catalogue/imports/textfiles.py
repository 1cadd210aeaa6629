"""Lines of a text import file (JSON lines, CSV): UTF-8, with or without a byte-order mark."""

from __future__ import annotations

import codecs
from collections.abc import Iterator
from typing import BinaryIO

from services.catalogue.imports.errors import ImportRefused

_ADVICE = "is it a spreadsheet or another binary file? Save it as UTF-8 text"


def text_lines(stream: BinaryIO) -> Iterator[str]:
    """Each line decoded, line endings kept (the csv module needs them).

    Decoded line by line, so a refusal names the line that is not text.
    """
    for number, raw in enumerate(stream, start=1):
        if number == 1 and raw.startswith(codecs.BOM_UTF8):
            raw = raw[len(codecs.BOM_UTF8) :]
        if b"\x00" in raw:
            raise ImportRefused(
                f"this is not a UTF-8 text file: line {number} holds binary data ({_ADVICE})"
            )
        try:
            yield raw.decode("utf-8")
        except UnicodeDecodeError as error:
            raise ImportRefused(
                f"this is not a UTF-8 text file: line {number} has the byte "
                f"{raw[error.start]:#04x} at column {error.start + 1} ({_ADVICE})"
            ) from error

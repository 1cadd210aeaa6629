"""The import formats, their file extensions and their parsers."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from enum import StrEnum
from pathlib import PurePath
from typing import BinaryIO

from services.catalogue.imports.csv_format import parse_csv
from services.catalogue.imports.errors import ImportRefused
from services.catalogue.imports.jsonl import parse_jsonl
from services.catalogue.imports.onix import parse_onix
from services.catalogue.imports.records import ParsedRecord


class ImportFormat(StrEnum):
    JSONL = "jsonl"
    CSV = "csv"
    ONIX = "onix"


EXTENSIONS = {
    ".jsonl": ImportFormat.JSONL,
    ".ndjson": ImportFormat.JSONL,
    ".csv": ImportFormat.CSV,
    ".xml": ImportFormat.ONIX,
    ".onix": ImportFormat.ONIX,
}

PARSERS: dict[ImportFormat, Callable[[BinaryIO], Iterator[ParsedRecord]]] = {
    ImportFormat.JSONL: parse_jsonl,
    ImportFormat.CSV: parse_csv,
    ImportFormat.ONIX: parse_onix,
}


def format_for_name(filename: str) -> ImportFormat:
    """The format a file's extension says it is in."""
    extension = PurePath(filename).suffix.lower()
    if extension not in EXTENSIONS:
        raise ImportRefused(
            f"cannot tell the format of {PurePath(filename).name!r} from its extension: "
            f"name it {', '.join(EXTENSIONS)}, or give the format (jsonl, csv or onix)"
        )
    return EXTENSIONS[extension]

"""The most an import may be, from the staff page or by default from the command line: every
record of a file is held in memory before any is written (about ten times the file's size)."""

from __future__ import annotations

MB = 1024 * 1024
MAX_IMPORT_BYTES = 64 * MB

"""`bookshop catalogue ...`: the catalogue's commands for staff at a terminal.

The database, its models and the import runner are imported inside the commands that use
them: importing them here made `--help` and a mistyped option take seconds.
"""

from __future__ import annotations

import asyncio
import getpass
from pathlib import Path

import click

from services.catalogue.imports.errors import ImportInterrupted, ImportRefused, ImportTooLarge
from services.catalogue.imports.formats import ImportFormat
from services.catalogue.imports.limits import MAX_IMPORT_BYTES, MB
from services.catalogue.imports.report import ImportReport
from shared.errors import ShopError

EXIT_SKIPPED = 1
EXIT_REFUSED = 2
EXIT_NOT_WRITTEN = 3


@click.group()
def catalogue() -> None:
    """The catalogue: books and their stock."""


@catalogue.command("import")
@click.argument("file", type=click.Path(path_type=Path))
@click.option(
    "--format",
    "format_",
    type=click.Choice([choice.value for choice in ImportFormat]),
    help="The file's format, when its extension does not say (.jsonl/.ndjson, .csv, .xml/.onix).",
)
@click.option(
    "--actor",
    default=None,
    help="Who is importing, as the stock ledger records it (default: your login name).",
)
@click.option(
    "--max-mb",
    type=click.IntRange(min=1),
    default=MAX_IMPORT_BYTES // MB,
    show_default=True,
    help="The largest file to import, in MB. Every record is held in memory until the whole "
    "file is checked: about ten times the file's size.",
)
def import_books(file: Path, format_: str | None, actor: str | None, max_mb: int) -> None:
    """Add or update the books in FILE: JSON lines, CSV or ONIX 3.0.

    The whole file is checked before anything is written, then its books are written a
    few hundred to a transaction (if writing fails part way, the message says which were). Books already held and unchanged are left alone, so importing a file
    again changes nothing; a column (or JSON key) the file lacks leaves a held book's value
    as it is. A file may be as big as the staff page's import takes unless --max-mb says more.
    Exit status: 0 all imported; 1 some records skipped (listed);
    2 the file was refused and nothing imported; 3 the database could not be written.
    """
    from sqlalchemy.exc import SQLAlchemyError

    from services.catalogue.settings import CatalogueSettings
    from shared.migrations import upgrade

    settings = CatalogueSettings()
    url = settings.resolved_database_url()
    try:
        upgrade("services.catalogue:migrations", url)
        report = asyncio.run(
            _import(
                file,
                url=url,
                format=ImportFormat(format_) if format_ else None,
                actor=actor or _login_name(),
                max_bytes=max_mb * MB,
            )
        )
    except ImportTooLarge as error:
        click.echo(
            f"Refused {file.name}: {error.message}, or raise the limit with --max-mb if this "
            "machine has the memory (about ten times the file's size). Nothing was imported.",
            err=True,
        )
        raise SystemExit(EXIT_REFUSED) from error
    except ImportRefused as error:
        click.echo(f"Refused {file.name}: {error.message}. Nothing was imported.", err=True)
        raise SystemExit(EXIT_REFUSED) from error
    except ImportInterrupted as error:
        click.echo(f"Could not import all of {file.name}: {error.message}.", err=True)
        raise SystemExit(EXIT_NOT_WRITTEN) from error
    except ShopError as error:
        click.echo(
            f"The catalogue refused {file.name}: {error.message}. Nothing was imported.", err=True
        )
        raise SystemExit(EXIT_REFUSED) from error
    except (SQLAlchemyError, OSError) as error:
        click.echo(
            f"Could not write to the catalogue's database: {error}. Nothing was imported.",
            err=True,
        )
        raise SystemExit(EXIT_NOT_WRITTEN) from error
    _print_report(file, report)
    if not report.complete:
        raise SystemExit(EXIT_SKIPPED)


async def _import(
    path: Path, *, url: str, format: ImportFormat | None, actor: str, max_bytes: int
) -> ImportReport:
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        SpinnerColumn,
        TextColumn,
        TimeElapsedColumn,
    )

    from services.catalogue import models
    from services.catalogue.imports.runner import import_file
    from services.catalogue.service import BookService
    from shared.db import Database
    from shared.messaging.unit_of_work import UnitOfWorkFactory

    db = Database(url)
    books = BookService(uow=UnitOfWorkFactory(db, models.outbox), db=db)
    console = Console(stderr=True)
    progress = Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=True,
        # A log or a pipe gets the report only, not the bar's redraws.
        disable=not console.is_terminal,
    )
    task = progress.add_task(f"Reading {path.name}", total=None)

    def on_reading(read: int, expected: int) -> None:
        # The bar's total is the records the share of the file read foretells, or none yet.
        progress.update(task, completed=read, total=expected or None)

    def on_progress(done: int, total: int) -> None:
        description = f"Writing {path.name}" if done < total else f"Imported {path.name}"
        progress.update(task, description=description, completed=done, total=total)

    try:
        with progress:
            return await import_file(
                path,
                format=format,
                service=books,
                actor=actor,
                max_bytes=max_bytes,
                on_reading=on_reading,
                on_progress=on_progress,
            )
    finally:
        await db.dispose()


def _print_report(path: Path, report: ImportReport) -> None:
    click.echo(
        f"{path.name}: {report.records} records: {report.created} created, "
        f"{report.updated} updated, {report.unchanged} unchanged, {report.skipped} skipped."
    )
    if report.complete:
        return
    click.echo("Skipped:")
    for error in report.errors:
        click.echo(f"  {error}")
    click.secho(
        f"{report.skipped} of {report.records} records were skipped: correct them and import "
        "the file again (the books already imported will be left as they are).",
        fg="yellow",
    )


def _login_name() -> str:
    try:
        return getpass.getuser()
    except OSError:
        return "command line"

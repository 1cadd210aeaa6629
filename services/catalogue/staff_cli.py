"""`bookshop staff ...`: staff accounts at a terminal (the catalogue owns them).

bookshop staff add sam --role stock --role editor --name "Sam Smith"
echo "$PASSWORD" | bookshop staff add sam --role stock --password-stdin
bookshop staff list | passwd sam | unlock sam | roles sam --role admin | disable sam | enable sam
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, TypeVar

import click

from shared.auth.roles import Role
from shared.errors import ShopError
from shared.messaging.message import utcnow

if TYPE_CHECKING:
    from services.catalogue.staff import StaffService

T = TypeVar("T")

ROLE_OPTION = click.option(
    "--role",
    "roles",
    multiple=True,
    required=True,
    type=click.Choice([role.value for role in Role]),
    help="A role (repeat for more): stock, phone_orders, editor; admin may do everything.",
)
PASSWORD_STDIN = click.option(
    "--password-stdin", is_flag=True, help="Read the password from the first line of stdin."
)


def _run(work: Callable[[StaffService], Awaitable[T]]) -> T:
    """Run one use case against the catalogue's database (brought up to date first)."""
    # Imported here, not above: the database, models and settings made `--help` take seconds.
    from sqlalchemy.exc import SQLAlchemyError

    from services.catalogue.settings import CatalogueSettings
    from services.catalogue.staff import StaffService
    from shared.db import Database
    from shared.migrations import upgrade

    settings = CatalogueSettings()
    url = settings.resolved_database_url()

    async def run() -> T:
        db = Database(url)
        try:
            return await work(StaffService(db=db, lockout=settings.staff_auth.lockout))
        finally:
            await db.dispose()

    try:
        upgrade("services.catalogue:migrations", url)
        return asyncio.run(run())
    except ShopError as error:
        raise click.ClickException(error.message) from error
    except (SQLAlchemyError, OSError) as error:
        raise click.ClickException(f"Could not reach the catalogue's database: {error}") from error


def _password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    return str(click.prompt("Password", hide_input=True, confirmation_prompt=True))


@click.group()
def staff() -> None:
    """Staff accounts: who may sign in to the staff pages, and with which roles."""


@staff.command("add")
@click.argument("username")
@ROLE_OPTION
@click.option("--name", "display_name", default=None, help="The name shown on the pages.")
@PASSWORD_STDIN
def add(
    username: str, roles: tuple[str, ...], display_name: str | None, password_stdin: bool
) -> None:
    """Add a staff account (the password is asked for twice)."""
    password = _password(password_stdin)
    member = _run(
        lambda service: service.add(
            username=username, password=password, roles=roles, display_name=display_name
        )
    )
    click.echo(f"Added {member.username} ({', '.join(sorted(member.roles))}).")


@staff.command("list")
def list_accounts() -> None:
    """Every staff account, its roles and whether it is locked or disabled."""
    members = _run(lambda service: service.list())
    if not members:
        click.echo("No staff accounts yet: add one with `bookshop staff add`.")
        return
    now = utcnow()
    for member in members:
        notes = []
        if member.disabled:
            notes.append("disabled")
        if member.locked_until is not None and member.locked_until > now:
            notes.append(f"locked until {member.locked_until:%Y-%m-%d %H:%M} UTC")
        click.echo(
            f"{member.username:<20} {member.display_name:<30} {', '.join(sorted(member.roles))}"
            + (f"  ({'; '.join(notes)})" if notes else "")
        )


@staff.command("passwd")
@click.argument("username")
@PASSWORD_STDIN
def passwd(username: str, password_stdin: bool) -> None:
    """Set a staff member's password."""
    password = _password(password_stdin)
    _run(lambda service: service.set_password(username=username, password=password))
    click.echo(f"Password of {username} changed.")


@staff.command("unlock")
@click.argument("username")
def unlock(username: str) -> None:
    """Lift a lock-out after too many failed sign-ins."""
    _run(lambda service: service.unlock(username=username))
    click.echo(f"{username} may sign in again.")


@staff.command("roles")
@click.argument("username")
@ROLE_OPTION
def set_roles(username: str, roles: tuple[str, ...]) -> None:
    """Replace a staff member's roles (takes effect at their next sign-in)."""
    _run(lambda service: service.set_roles(username=username, roles=roles))
    click.echo(f"{username} now has: {', '.join(sorted(roles))}.")


@staff.command("disable")
@click.argument("username")
def disable(username: str) -> None:
    """Stop an account signing in (a session already open runs to its end)."""
    _run(lambda service: service.set_disabled(username=username, disabled=True))
    click.echo(f"{username} can no longer sign in.")


@staff.command("enable")
@click.argument("username")
def enable(username: str) -> None:
    """Let a disabled account sign in again."""
    _run(lambda service: service.set_disabled(username=username, disabled=False))
    click.echo(f"{username} may sign in again.")

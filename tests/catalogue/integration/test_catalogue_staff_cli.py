"""`bookshop staff ...` against a real database (SQLite and Postgres): accounts are added with
argon2 hashes and checked roles, listed, given new passwords and unlocked."""

from __future__ import annotations

import asyncio

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import create_engine, text

from services.catalogue.staff import AccountLocked, SignInRefused, StaffService
from services.catalogue.staff_cli import staff
from services.cli import main
from shared.auth.lockout import LockoutPolicy
from shared.db import Database
from shared.migrations import sync_url

PASSWORD = "correct horse battery"


def run(url: str, *args: str, stdin: str | None = None) -> Result:
    return CliRunner().invoke(staff, list(args), input=stdin, env={"CATALOGUE_DATABASE_URL": url})


def sign_in(url: str, username: str, password: str) -> str:
    async def attempt() -> str:
        db = Database(url)
        try:
            service = StaffService(db=db, lockout=LockoutPolicy(max_failures=2))
            return (await service.sign_in(username=username, password=password)).username
        finally:
            await db.dispose()

    return asyncio.run(attempt())


def test_staff_is_a_bookshop_command() -> None:
    result = CliRunner().invoke(main, ["staff", "--help"])
    assert result.exit_code == 0, result.output
    assert all(command in result.output for command in ("add", "list", "passwd", "unlock"))


def test_add_list_passwd_and_unlock(database_url: str) -> None:
    added = run(
        database_url,
        "add",
        "Sam",
        "--role",
        "stock",
        "--role",
        "editor",
        "--name",
        "Sam Smith",
        "--password-stdin",
        stdin=PASSWORD + "\n",
    )
    assert added.exit_code == 0, added.output
    assert "Added sam (editor, stock)." in added.output
    with create_engine(sync_url(database_url)).connect() as connection:
        stored = connection.execute(
            text("SELECT username, password_hash FROM staff_accounts")
        ).one()
    assert stored.username == "sam"
    assert stored.password_hash.startswith("$argon2id$")
    assert PASSWORD not in stored.password_hash

    prompted = run(database_url, "add", "pat", "--role", "admin", stdin=f"{PASSWORD}\n{PASSWORD}\n")
    assert prompted.exit_code == 0, prompted.output

    listed = run(database_url, "list")
    assert listed.exit_code == 0
    lines = listed.output.splitlines()
    assert [line.split()[0] for line in lines] == ["pat", "sam"]
    assert "Sam Smith" in lines[1] and "editor, stock" in lines[1]

    for _ in range(2):
        with pytest.raises(SignInRefused):
            sign_in(database_url, "sam", "wrong password!")
    with pytest.raises(AccountLocked):
        sign_in(database_url, "sam", PASSWORD)
    assert "locked until" in run(database_url, "list").output
    unlocked = run(database_url, "unlock", "SAM")
    assert unlocked.exit_code == 0, unlocked.output
    assert sign_in(database_url, "sam", PASSWORD) == "sam"

    changed = run(database_url, "passwd", "sam", "--password-stdin", stdin="a new long password\n")
    assert changed.exit_code == 0, changed.output
    assert sign_in(database_url, "sam", "a new long password") == "sam"
    with pytest.raises(SignInRefused):
        sign_in(database_url, "sam", PASSWORD)


@pytest.mark.parametrize(
    ("args", "stdin", "says"),
    [
        (("add", "sam", "--role", "stock", "--password-stdin"), "short\n", "too short"),
        (("add", "sam", "--role", "boss", "--password-stdin"), PASSWORD + "\n", "'boss'"),
        (("add", "sam", "--password-stdin"), PASSWORD + "\n", "--role"),
        (("add", "s a m", "--role", "stock", "--password-stdin"), PASSWORD + "\n", "username"),
        (("passwd", "nobody", "--password-stdin"), PASSWORD + "\n", "no staff account"),
        (("unlock", "nobody"), None, "no staff account"),
    ],
)
def test_mistakes_are_refused_with_a_reason(
    sqlite_database_url: str, args: tuple[str, ...], stdin: str | None, says: str
) -> None:
    result = run(sqlite_database_url, *args, stdin=stdin)
    assert result.exit_code != 0
    assert says in result.output


def test_a_username_is_taken_whatever_its_case(sqlite_database_url: str) -> None:
    first = run(
        sqlite_database_url, "add", "sam", "--role", "stock", "--password-stdin", stdin=PASSWORD
    )
    again = run(
        sqlite_database_url, "add", "SAM", "--role", "editor", "--password-stdin", stdin=PASSWORD
    )
    assert first.exit_code == 0
    assert again.exit_code == 1
    assert "already a staff account called 'sam'" in again.output

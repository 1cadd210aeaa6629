"""Staff accounts: adding them, their passwords and roles, and signing in with lock-out.

Sign-in never says whether a username exists: an unknown name, a disabled account and a
wrong password get the same answer after the same work. A locked account says so only to
someone who gives its right password, so the lock tells an attacker nothing.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from uuid import uuid4

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from services.catalogue.models import StaffAccount
from shared.auth.lockout import LockoutPolicy
from shared.auth.passwords import (
    check_new_password,
    hash_password,
    needs_rehash,
    spend_verify_time,
    verify_password,
)
from shared.auth.roles import Role, parse_roles
from shared.auth.sessions import StaffIdentity
from shared.db import Database
from shared.errors import Conflict, InvalidInput, NotFound, ShopError
from shared.messaging.message import utcnow

Clock = Callable[[], datetime]
USERNAME = re.compile(r"[a-z0-9][a-z0-9._-]{1,63}")


class SignInRefused(ShopError):
    status_code = 401


class AccountLocked(SignInRefused):
    pass


@dataclass(frozen=True)
class StaffMember:
    username: str
    display_name: str
    roles: frozenset[Role]
    disabled: bool
    locked_until: datetime | None
    created_at: datetime


def normalise_username(raw: str) -> str:
    username = raw.strip().lower()
    if not USERNAME.fullmatch(username):
        raise InvalidInput(
            f"'{raw}' cannot be a username: use 2 to 64 letters, digits, dots, dashes or "
            "underscores, starting with a letter or digit."
        )
    return username


class StaffService:
    def __init__(self, *, db: Database, lockout: LockoutPolicy, clock: Clock = utcnow) -> None:
        self._db = db
        self._lockout = lockout
        self._clock = clock

    async def add(
        self, *, username: str, password: str, roles: Iterable[str], display_name: str | None
    ) -> StaffMember:
        name = normalise_username(username)
        role_set = parse_roles(roles)
        check_new_password(password, username=name)
        password_hash = await asyncio.to_thread(hash_password, password)
        account = StaffAccount(
            id=uuid4(),
            username=name,
            display_name=(display_name or "").strip() or name,
            password_hash=password_hash,
            roles=sorted(role.value for role in role_set),
            failed_attempts=0,
            locked_until=None,
            created_at=self._clock(),
            disabled=False,
        )
        try:
            async with self._db.writing() as session:
                session.add(account)
        except IntegrityError as error:
            raise Conflict(f"There is already a staff account called '{name}'.") from error
        return _member(account)

    async def list(self) -> list[StaffMember]:
        async with self._db.reading() as session:
            accounts = await session.scalars(select(StaffAccount).order_by(StaffAccount.username))
            return [_member(account) for account in accounts]

    async def set_password(self, *, username: str, password: str) -> None:
        name = normalise_username(username)
        check_new_password(password, username=name)
        password_hash = await asyncio.to_thread(hash_password, password)
        await self._update(name, password_hash=password_hash)

    async def set_roles(self, *, username: str, roles: Iterable[str]) -> None:
        role_set = parse_roles(roles)
        await self._update(
            normalise_username(username), roles=sorted(role.value for role in role_set)
        )

    async def set_disabled(self, *, username: str, disabled: bool) -> None:
        await self._update(normalise_username(username), disabled=disabled)

    async def unlock(self, *, username: str) -> None:
        await self._update(normalise_username(username), failed_attempts=0, locked_until=None)

    async def sign_in(self, *, username: str, password: str) -> StaffIdentity:
        """The identity to keep in the session, or SignInRefused / AccountLocked."""
        refused = SignInRefused(
            "That username and password do not match. "
            f"After {self._lockout.max_failures} failed attempts in a row an account is "
            "locked for a while."
        )
        name = username.strip().lower()
        async with self._db.reading() as session:
            account = await session.scalar(
                select(StaffAccount).where(StaffAccount.username == name)
            )
        if account is None or account.disabled:
            await asyncio.to_thread(spend_verify_time, password)
            raise refused
        matches = await asyncio.to_thread(verify_password, account.password_hash, password)
        now = self._clock()
        if self._lockout.is_locked(account.locked_until, now):
            if matches:
                raise AccountLocked(_locked_message(account.locked_until, now))
            raise refused
        if not matches:
            await self._count_failure(account, now)
            raise refused
        changes: dict[str, object] = {"failed_attempts": 0, "locked_until": None}
        if needs_rehash(account.password_hash):
            changes["password_hash"] = await asyncio.to_thread(hash_password, password)
        async with self._db.writing() as session:
            await session.execute(
                update(StaffAccount).where(StaffAccount.id == account.id).values(**changes)
            )
        return StaffIdentity(
            staff_id=str(account.id),
            username=account.username,
            name=account.display_name,
            roles=parse_roles(account.roles),
        )

    async def _count_failure(self, account: StaffAccount, now: datetime) -> None:
        async with self._db.writing() as session:
            # Counted in the database, so failures racing in from several processes all count.
            failures = await session.scalar(
                update(StaffAccount)
                .where(StaffAccount.id == account.id)
                .values(failed_attempts=StaffAccount.failed_attempts + 1)
                .returning(StaffAccount.failed_attempts)
            )
            kept, locked_until = self._lockout.after_failure(int(failures or 0), now)
            if locked_until is not None:
                await session.execute(
                    update(StaffAccount)
                    .where(StaffAccount.id == account.id)
                    .values(failed_attempts=kept, locked_until=locked_until)
                )

    async def _update(self, username: str, **values: object) -> None:
        async with self._db.writing() as session:
            result = await session.execute(
                update(StaffAccount).where(StaffAccount.username == username).values(**values)
            )
            if result.rowcount == 0:  # type: ignore[attr-defined]
                raise NotFound(
                    f"There is no staff account called '{username}' "
                    "(`bookshop staff list` shows them)."
                )


def _locked_message(locked_until: datetime | None, now: datetime) -> str:
    minutes = max(1, round(((locked_until or now) - now).total_seconds() / 60))
    return (
        "This account is locked after too many failed sign-ins. Try again in "
        f"{minutes} minute{'s' if minutes != 1 else ''}, or ask an admin to run "
        "`bookshop staff unlock`."
    )


def _member(account: StaffAccount) -> StaffMember:
    return StaffMember(
        username=account.username,
        display_name=account.display_name,
        roles=parse_roles(account.roles),
        disabled=account.disabled,
        locked_until=account.locked_until,
        created_at=account.created_at,
    )

"""The lock-out rule: after N failed sign-ins in a row an account is locked for a while."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta


@dataclass(frozen=True)
class LockoutPolicy:
    max_failures: int = 5
    lock_for: timedelta = timedelta(minutes=15)

    def __post_init__(self) -> None:
        if self.max_failures < 1:
            raise ValueError("max_failures must be at least 1")
        if self.lock_for <= timedelta(0):
            raise ValueError("lock_for must be positive")

    def is_locked(self, locked_until: datetime | None, now: datetime) -> bool:
        return locked_until is not None and now < locked_until

    def after_failure(self, failures: int, now: datetime) -> tuple[int, datetime | None]:
        """Given the failures in a row including this one: the count to keep and any lock.

        Reaching the limit locks the account and starts the count again, so the first wrong
        password after a lock has run out does not lock it again at once.
        """
        if failures >= self.max_failures:
            return 0, now + self.lock_for
        return failures, None

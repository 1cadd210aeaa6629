"""Staff sign-in settings, the same in every service (env prefix BOOKSHOP_)."""

from __future__ import annotations

import os
import secrets
import time
from datetime import timedelta
from pathlib import Path
from typing import Protocol

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from shared.auth.lockout import LockoutPolicy
from shared.settings import data_dir

MIN_SECRET_KEY_LENGTH = 32
SECRET_KEY_FILE = "secret_key"


class StaffAuthSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="BOOKSHOP_", extra="ignore", frozen=True)

    secret_key: str = Field(
        default="",
        description="signs CSRF tokens; the same in every service (BOOKSHOP_SECRET_KEY). Empty: "
        "a random key kept in the data folder, which suits the one-machine shop only",
    )
    secure_cookies: bool = Field(
        default=False, description="send the staff cookies over HTTPS only (set it behind HTTPS)"
    )
    session_hours: float = Field(
        default=8, gt=0, le=7 * 24, description="a sign-in lasts this long"
    )
    lockout_failures: int = Field(default=5, ge=1, description="failed sign-ins in a row that lock")
    lockout_minutes: float = Field(default=15, gt=0, description="how long a lock-out lasts")

    @property
    def session_max_age_seconds(self) -> int:
        return int(self.session_hours * 3600)

    @property
    def lockout(self) -> LockoutPolicy:
        return LockoutPolicy(
            max_failures=self.lockout_failures, lock_for=timedelta(minutes=self.lockout_minutes)
        )

    def resolved_secret_key(self) -> str:
        """The configured key, else the data folder's, made on first use (readable by us only)."""
        if self.secret_key:
            if len(self.secret_key) < MIN_SECRET_KEY_LENGTH:
                raise ValueError(
                    f"BOOKSHOP_SECRET_KEY is too short: use at least {MIN_SECRET_KEY_LENGTH} "
                    'random characters, e.g. python -c "import secrets; print(secrets.token_hex(32))"'
                )
            return self.secret_key
        return _data_folder_secret(data_dir() / SECRET_KEY_FILE)


def _data_folder_secret(path: Path) -> str:
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        # O_EXCL: of several processes starting at once, one writes the key and the rest read it.
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        for _ in range(50):
            key = path.read_text().strip()
            if len(key) >= MIN_SECRET_KEY_LENGTH:
                return key
            # Another process created the file and is about to write it.
            time.sleep(0.01)
        raise ValueError(f"The secret key file {path} is empty or too short: delete it.") from None
    key = secrets.token_hex(32)
    with os.fdopen(descriptor, "w") as file:
        file.write(key + "\n")
    return key


class HasStaffAuth(Protocol):
    """What a service's settings give the staff sign-in: its Redis and the shared settings."""

    @property
    def redis_url(self) -> str: ...

    @property
    def staff_auth(self) -> StaffAuthSettings: ...

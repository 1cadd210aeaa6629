"""Settings read from environment variables: one prefix per service, built explicitly and passed in.

Nothing here is read at import time; a service builds its settings in its entry point
(`CatalogueSettings()`), and tests build them with explicit values.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


def data_dir() -> Path:
    """Where the embedded default keeps its SQLite files: `BOOKSHOP_DATA_DIR`, else ./var."""
    return Path(BrokerSettings().data_dir)


class BrokerSettings(BaseSettings):
    """What every service shares: the broker and the data folder of the embedded default."""

    model_config = SettingsConfigDict(env_prefix="", extra="ignore", frozen=True)

    redis_url: str = Field(
        default="redis://127.0.0.1:6379/0",
        description="Celery broker and result backend (REDIS_URL)",
    )
    data_dir: str = Field(
        default="var",
        validation_alias="BOOKSHOP_DATA_DIR",
        description="folder of the embedded default's SQLite files",
    )
    visibility_timeout_seconds: float = Field(
        default=3600.0,
        gt=0,
        validation_alias="BOOKSHOP_VISIBILITY_TIMEOUT_SECONDS",
        description="how long a task taken by a worker that died waits before another worker "
        "gets it; longer than the longest task (tests shorten it)",
    )


class ServiceSettings(BaseSettings):
    """Fields every service has; each service subclasses it with its own env prefix."""

    model_config = SettingsConfigDict(extra="ignore", frozen=True)

    service_name: str = "service"
    database_url: str = ""
    redis_url: str = Field(default_factory=lambda: BrokerSettings().redis_url)
    public_url: str = Field(
        default="http://127.0.0.1:8000",
        description="the shop's public address, used in links and emails",
    )
    reply_timeout_seconds: float = Field(
        default=3.0, gt=0, description="how long a web request waits for a command's reply"
    )
    debug: bool = False

    def resolved_database_url(self) -> str:
        """The configured URL, else a SQLite file named for the service in the data folder."""
        if self.database_url:
            return self.database_url
        path = data_dir() / f"{self.service_name}.db"
        return f"sqlite+aiosqlite:///{path}"

"""Fixtures every test folder shares: real Redis and Postgres, fresh databases, real workers.

Integration tests skip on a developer's machine without Redis or Postgres, and fail in CI,
where BOOKSHOP_REQUIRE_SERVICES=1 is set: a missing service must never pass silently.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import psycopg
import pytest
import redis

REQUIRE_SERVICES = os.environ.get("BOOKSHOP_REQUIRE_SERVICES") == "1"
TEST_REDIS_URL = os.environ.get("BOOKSHOP_TEST_REDIS_URL", "redis://127.0.0.1:6379/13")
TEST_POSTGRES_URL = os.environ.get(
    "BOOKSHOP_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)
REPO = Path(__file__).resolve().parent.parent


def _unavailable(what: str, error: Exception) -> None:
    message = f"{what} is not reachable ({error}); integration tests need it"
    if REQUIRE_SERVICES:
        pytest.fail(message, pytrace=False)
    pytest.skip(message)


@pytest.fixture
def redis_url() -> Iterator[str]:
    """A Redis database of its own, emptied before and after the test."""
    client = redis.Redis.from_url(TEST_REDIS_URL, socket_connect_timeout=2)
    try:
        client.flushdb()
    except redis.RedisError as error:
        _unavailable("Redis", error)
    yield TEST_REDIS_URL
    client.flushdb()
    client.close()


@pytest.fixture
def postgres_database_url() -> Iterator[str]:
    """A fresh Postgres database (asyncpg URL), dropped after the test."""
    name = f"bookshop_test_{uuid.uuid4().hex[:12]}"
    try:
        admin = psycopg.connect(TEST_POSTGRES_URL, autocommit=True, connect_timeout=3)
    except psycopg.Error as error:
        _unavailable("Postgres", error)
    with admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    base = TEST_POSTGRES_URL.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://", 1)
    yield f"{base}/{name}"
    with psycopg.connect(TEST_POSTGRES_URL, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def sqlite_database_url(tmp_path: Path) -> str:
    return f"sqlite+aiosqlite:///{tmp_path / 'service.db'}"


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request: pytest.FixtureRequest) -> str:
    """The same test on SQLite (the embedded default) and on Postgres (deployment)."""
    if request.param == "sqlite":
        return request.getfixturevalue("sqlite_database_url")
    return request.getfixturevalue("postgres_database_url")


WorkerFactory = Callable[..., subprocess.Popen[bytes]]


@pytest.fixture
def run_worker(tmp_path: Path) -> Iterator[WorkerFactory]:
    """Start real Celery workers (`bookshop worker SERVICE`) as subprocesses; stopped after the test."""
    started: list[subprocess.Popen[bytes]] = []

    def start(
        service: str, env: dict[str, str], *, ready_timeout: float = 30.0
    ) -> subprocess.Popen[bytes]:
        log_path = tmp_path / f"worker-{service}-{len(started)}.log"
        process = subprocess.Popen(
            [sys.executable, "-m", "services.cli", "worker", service, "--pool", "solo"],
            cwd=REPO,
            env={**os.environ, **env},
            stdout=log_path.open("wb"),
            stderr=subprocess.STDOUT,
        )
        started.append(process)
        deadline = time.monotonic() + ready_timeout
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise RuntimeError(f"worker {service} exited early:\n{log_path.read_text()}")
            if "ready." in log_path.read_text(errors="replace"):
                return process
            time.sleep(0.1)
        raise RuntimeError(
            f"worker {service} not ready in {ready_timeout}s:\n{log_path.read_text()}"
        )

    yield start
    for process in started:
        if process.poll() is None:
            process.terminate()
    for process in started:
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()

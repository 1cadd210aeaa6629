"""Fixtures every test folder shares: real Redis and Postgres, fresh databases, real workers.

Integration tests skip on a developer's machine without Redis or Postgres, and fail in CI,
where BOOKSHOP_REQUIRE_SERVICES=1 is set: a missing service must never pass silently.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import httpx
import psycopg
import pytest
import redis
import structlog
from litestar.middleware.csrf import generate_csrf_token
from litestar.stores.redis import RedisStore
from redis.asyncio import Redis as AsyncRedis
from sqlalchemy.engine import make_url

from shared.auth.csrf import CSRF_COOKIE, CSRF_HEADER
from shared.auth.roles import Role
from shared.auth.sessions import SESSION_COOKIE, SESSION_NAMESPACE, StaffIdentity
from shared.auth.settings import StaffAuthSettings
from shared.migrations import upgrade
from shared.observability.logs import PER_CALL_LOGGERS

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


class _PostgresDatabases:
    """Fresh, empty Postgres databases, each made one test ahead and dropped after its test, on a
    thread of their own: every test still gets a database nobody else has used, but does not
    wait the half second Postgres takes to make one and to drop it."""

    def __init__(self) -> None:
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="test-databases")
        self._next: Future[str] | None = None
        self._drops: list[Future[None]] = []

    def take(self) -> str:
        name = (self._next or self._thread.submit(self._create)).result()
        self._next = self._thread.submit(self._create)
        return name

    def give_back(self, name: str) -> None:
        self._drops.append(self._thread.submit(self._drop, name))

    def close(self) -> None:
        if self._next is not None:
            with contextlib.suppress(psycopg.Error):
                self.give_back(self._next.result())
        self._thread.shutdown(wait=True)
        for dropped in self._drops:
            dropped.result()

    @staticmethod
    def _create() -> str:
        name = f"bookshop_test_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(TEST_POSTGRES_URL, autocommit=True, connect_timeout=3) as admin:
            admin.execute(f'CREATE DATABASE "{name}"')
        return name

    @staticmethod
    def _drop(name: str) -> None:
        with psycopg.connect(TEST_POSTGRES_URL, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def _postgres_databases() -> Iterator[_PostgresDatabases]:
    databases = _PostgresDatabases()
    yield databases
    databases.close()


@pytest.fixture
def postgres_database_url(_postgres_databases: _PostgresDatabases) -> Iterator[str]:
    """A fresh Postgres database (asyncpg URL), dropped after the test."""
    try:
        name = _postgres_databases.take()
    except psycopg.Error as error:
        _unavailable("Postgres", error)
    base = TEST_POSTGRES_URL.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://", 1)
    yield f"{base}/{name}"
    _postgres_databases.give_back(name)


@pytest.fixture
def sqlite_database_url(tmp_path: Path) -> str:
    return f"sqlite+aiosqlite:///{tmp_path / 'service.db'}"


Migrate = Callable[[str, str], None]


@pytest.fixture(scope="session")
def migrate(tmp_path_factory: pytest.TempPathFactory) -> Migrate:
    """`migrate("services.catalogue:migrations", database_url)`: a fresh database brought to the
    head of a service's migrations. On Postgres the migrations run; a SQLite file is a copy of
    one the same migrations made earlier in the session (the same bytes, without running them
    again for every test). The migrations' own tests call `upgrade` themselves."""
    migrated: dict[str, Path] = {}

    def run(script_location: str, database_url: str) -> None:
        url = make_url(database_url)
        target = Path(url.database or "")
        if url.get_backend_name() != "sqlite" or not url.database or target.exists():
            upgrade(script_location, database_url)
            return
        if script_location not in migrated:
            made = tmp_path_factory.mktemp("migrated") / "service.db"
            upgrade(script_location, f"sqlite+aiosqlite:///{made}")
            # WAL is a lasting property of the file (upgrade sets it): everything is in the main
            # file once the migrations' connection has closed, and the copy is in WAL mode too.
            assert not made.with_name(made.name + "-wal").exists()
            migrated[script_location] = made
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(migrated[script_location], target)

    return run


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


# Staff sign-in (shared.auth): every app under test gets the same secret key and the test's Redis,
# so a session or CSRF token made here is honoured by all three services, as in the shop.
STAFF_SECRET_KEY = "test-only-secret-key-for-csrf-tokens-0123456789"


@pytest.fixture
def staff_auth() -> StaffAuthSettings:
    """Pass as `staff_auth=` to a service's settings."""
    return StaffAuthSettings(secret_key=STAFF_SECRET_KEY)


@dataclass(frozen=True)
class StaffCredentials:
    """A signed-in staff member's session id and CSRF token, as a browser holds them."""

    identity: StaffIdentity
    session_id: str
    csrf_token: str

    @property
    def headers(self) -> dict[str, str]:
        """For one request (replaces the client's own cookies on it)."""
        return {
            "Cookie": f"{SESSION_COOKIE}={self.session_id}; {CSRF_COOKIE}={self.csrf_token}",
            CSRF_HEADER: self.csrf_token,
        }

    def apply(self, client: httpx.AsyncClient) -> None:
        """For every request of `client`."""
        client.cookies.set(SESSION_COOKIE, self.session_id)
        give_csrf_token(client, self.csrf_token)


def give_csrf_token(client: httpx.AsyncClient, token: str | None = None) -> str:
    token = token or generate_csrf_token(STAFF_SECRET_KEY)
    client.cookies.set(CSRF_COOKIE, token)
    client.headers[CSRF_HEADER] = token
    return token


@pytest.fixture
def csrf_token_for() -> Callable[[httpx.AsyncClient], str]:
    """`csrf_token_for(client)`: a valid CSRF cookie and header on every request of an
    anonymous client, as a reader's browser has after the page with the form."""
    return give_csrf_token


StaffLogin = Callable[..., Awaitable[StaffCredentials]]
StaffSignIn = Callable[..., Awaitable[StaffIdentity]]


@pytest.fixture
async def staff_credentials(redis_url: str) -> AsyncIterator[StaffLogin]:
    """`await staff_credentials(Role.PHONE_ORDERS, username="pat")`: a session for a staff member
    with those roles in the shared Redis, as the catalogue's sign-in makes it, and a CSRF token."""
    redis_client = AsyncRedis.from_url(redis_url)
    store = RedisStore(redis_client, namespace=SESSION_NAMESPACE)

    async def sign_in(*roles: Role, username: str = "sam") -> StaffCredentials:
        identity = StaffIdentity(
            staff_id=str(uuid.uuid4()),
            username=username,
            name=username.title(),
            roles=frozenset(roles),
        )
        session_id = uuid.uuid4().hex
        await store.set(session_id, json.dumps(identity.to_session()).encode(), expires_in=3600)
        return StaffCredentials(identity, session_id, generate_csrf_token(STAFF_SECRET_KEY))

    yield sign_in
    await redis_client.aclose()


@pytest.fixture
def staff_session(staff_credentials: StaffLogin) -> StaffSignIn:
    """`await staff_session(client, Role.STOCK, username="sam")` signs `client` in (every request
    carries the session cookie and a CSRF token) and returns who it is."""

    async def sign_in(
        client: httpx.AsyncClient, *roles: Role, username: str = "sam"
    ) -> StaffIdentity:
        credentials = await staff_credentials(*roles, username=username)
        credentials.apply(client)
        return credentials.identity

    return sign_in


@pytest.fixture
def logging_restored() -> Iterator[None]:
    """For a test that calls configure_logging: the test process's logging as it was after."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    per_call = {name: logging.getLogger(name).level for name in PER_CALL_LOGGERS}
    yield
    root.handlers[:] = handlers
    root.setLevel(level)
    for name, each in per_call.items():
        logging.getLogger(name).setLevel(each)
    structlog.reset_defaults()

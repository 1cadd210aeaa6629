"""The browser-test harness: the whole shop started as the README starts it (`bookshop up`), but
on the real Redis and Postgres, and Debian's Chromium driven by Playwright.

    @pytest.mark.e2e
    def test_something(shop: Shop, page: Page, signed_in: SignIn) -> None:
        staff = signed_in(page, "editor")        # a new account, signed in with the keyboard
        page.goto("/staff/editor")               # relative to shop.base_url
        ...
        shop.emails()                             # the emails the shop printed to its logs

`shop` lives for the whole test session (one shop; tests must not rely on a clean one);
`page` (a desktop window) and `phone_page` (390x844) get a new browser context per test.
After each test a screenshot goes to test-artifacts/e2e/<test>.png and, if the test failed,
the page's HTML to test-artifacts/e2e/<test>.html.

Without Chromium, Redis or Postgres the tests skip; with BOOKSHOP_REQUIRE_SERVICES=1 (CI)
they fail instead.
"""

from __future__ import annotations

import contextlib
import email
import email.policy
import json
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path
from typing import Any, NoReturn

import httpx
import psycopg
import pytest
import redis
from playwright.sync_api import Browser, Page, sync_playwright

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "test-artifacts" / "e2e"
REQUIRE_SERVICES = os.environ.get("BOOKSHOP_REQUIRE_SERVICES") == "1"
E2E_REDIS_URL = os.environ.get("BOOKSHOP_E2E_REDIS_URL", "redis://127.0.0.1:6379/14")
E2E_POSTGRES_URL = os.environ.get(
    "BOOKSHOP_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)
CHROMIUM = os.environ.get("BOOKSHOP_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}
SERVICES = ("catalogue", "recommendation", "checkout")
DEMO_BOOKS = REPO / "services" / "catalogue" / "demo" / "books.jsonl"
# The first start migrates three databases, seeds 208 books and loads the ranking models.
START_TIMEOUT = float(os.environ.get("BOOKSHOP_E2E_START_TIMEOUT", "240"))
EMAIL_EVENT = "email (no SMTP host configured):"
REDIS_CLAIM = "bookshop-e2e:claimed-by"


def _unavailable(message: str) -> NoReturn:
    if REQUIRE_SERVICES:
        pytest.fail(message, pytrace=False)
    pytest.skip(message)


@dataclass(frozen=True)
class StaffAccount:
    username: str
    password: str
    role: str


@dataclass
class Shop:
    """The running shop: its address, data folder (worker logs), environment and helpers."""

    base_url: str
    data_dir: Path
    env: dict[str, str]
    process: subprocess.Popen[bytes]
    database_urls: dict[str, str] = field(default_factory=dict)

    def url(self, path: str) -> str:
        return self.base_url + path

    def bookshop(self, *args: str, input: str | None = None) -> subprocess.CompletedProcess[str]:
        """Run a `bookshop` command against this shop's databases; raises if it fails."""
        result = subprocess.run(
            [sys.executable, "-m", "services.cli", *args],
            cwd=REPO,
            env=self.env,
            input=input,
            capture_output=True,
            text=True,
            timeout=120,
        )
        if result.returncode != 0:
            raise AssertionError(
                f"bookshop {' '.join(args)} exited {result.returncode}:\n"
                f"{result.stdout}\n{result.stderr}"
            )
        return result

    def staff(self, username: str, role: str, *, password: str | None = None) -> StaffAccount:
        """Add a staff account with one role through `bookshop staff add --password-stdin`."""
        password = password or secrets.token_urlsafe(16)
        self.bookshop(
            "staff", "add", username, "--role", role, "--password-stdin", input=password + "\n"
        )
        return StaffAccount(username=username, password=password, role=role)

    def logs(self) -> str:
        """Everything the shop printed: the web process and every worker and beat."""
        return "\n".join(
            path.read_text(encoding="utf-8", errors="replace")
            for path in sorted(self.data_dir.glob("*.log"))
        )

    def emails(self) -> list[EmailMessage]:
        """The emails the shop printed to its logs (no SMTP host is configured), in order."""
        found: dict[str, EmailMessage] = {}
        for line in self.logs().splitlines():
            if EMAIL_EVENT not in line:
                continue
            try:
                event = json.loads(line).get("event", "")
            except json.JSONDecodeError:
                continue
            raw = event.split(EMAIL_EVENT, 1)[1].lstrip("\n")
            message = email.message_from_bytes(raw.encode(), policy=email.policy.default)
            assert isinstance(message, EmailMessage)
            found.setdefault(str(message["Message-ID"]), message)
        return list(found.values())

    def wait_for_email(self, to: str, *, timeout: float = 30.0) -> EmailMessage:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for message in self.emails():
                if to in str(message["To"]):
                    return message
            time.sleep(0.25)
        raise AssertionError(f"no email to {to} within {timeout}s")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _claim_redis() -> redis.Redis:
    """The Redis database, emptied, for this run alone: two shops on one database would take
    each other's tasks (and each flush would wipe the other's queues)."""
    client = redis.Redis.from_url(E2E_REDIS_URL, socket_connect_timeout=2)
    mine = _claimant(os.getpid())
    try:
        if not client.set(REDIS_CLAIM, mine, ex=3600, nx=True):
            holder = (client.get(REDIS_CLAIM) or b"").decode()
            # A run that was killed (CI ends whatever a session left running) cannot release
            # its claim; its process being gone from this machine is proof enough.
            if not _is_stale(holder) or not client.set(REDIS_CLAIM, mine, ex=3600, xx=True):
                pytest.fail(
                    f"Another browser-test run ({holder}) is using {E2E_REDIS_URL}: wait for "
                    "it, or give this one its own database with BOOKSHOP_E2E_REDIS_URL (a run "
                    f"on another machine that was killed leaves its claim for an hour: delete "
                    f"the key {REDIS_CLAIM}).",
                    pytrace=False,
                )
        client.flushdb()
        client.set(REDIS_CLAIM, mine, ex=3600)
    except redis.RedisError as error:
        _unavailable(f"Redis is not reachable ({error}); browser tests need it")
    return client


def _claimant(pid: int) -> str:
    return f"pid {pid} on {socket.gethostname()}"


def _is_stale(holder: str) -> bool:
    """Whether a claim was made by a process on this machine that no longer runs."""
    found = re.fullmatch(r"pid (\d+) on (.+)", holder)
    if found is None or found[2] != socket.gethostname():
        return False
    try:
        os.kill(int(found[1]), 0)
    except ProcessLookupError:
        return True
    except PermissionError:  # alive, and another user's
        pass
    return False


def _create_databases() -> dict[str, str]:
    run = uuid.uuid4().hex[:8]
    try:
        admin = psycopg.connect(E2E_POSTGRES_URL, autocommit=True, connect_timeout=3)
    except psycopg.Error as error:
        _unavailable(f"Postgres is not reachable ({error}); browser tests need it")
    names = {service: f"bookshop_e2e_{run}_{service}" for service in SERVICES}
    with admin:
        for name in names.values():
            admin.execute(f'CREATE DATABASE "{name}"')
    base = E2E_POSTGRES_URL.rsplit("/", 1)[0]
    return {service: f"{base}/{name}" for service, name in names.items()}


def _drop_databases(urls: dict[str, str]) -> None:
    with psycopg.connect(E2E_POSTGRES_URL, autocommit=True) as admin:
        for url in urls.values():
            admin.execute(f'DROP DATABASE IF EXISTS "{url.rsplit("/", 1)[1]}" WITH (FORCE)')


def _asyncpg(url: str) -> str:
    return url.replace("postgresql://", "postgresql+asyncpg://", 1)


def _indexed_books(recommendation_url: str) -> int:
    try:
        with psycopg.connect(recommendation_url, connect_timeout=3) as connection:
            row = connection.execute("SELECT count(*) FROM books").fetchone()
    except psycopg.Error:
        return 0
    return int(row[0]) if row else 0


def _wait_until_open(shop: Shop, log: Path) -> None:
    """Health ok, every demo book in the recommendation service's copy, the models loaded."""
    expected = sum(1 for line in DEMO_BOOKS.read_text().splitlines() if line.strip())
    deadline = time.monotonic() + START_TIMEOUT
    stage = "health"
    with httpx.Client(base_url=shop.base_url, timeout=60) as client:
        while time.monotonic() < deadline:
            if shop.process.poll() is not None:
                raise RuntimeError(f"`bookshop up` exited early:\n{log.read_text()[-5000:]}")
            try:
                if stage == "health":
                    health = client.get("/health")
                    if health.status_code == 200 and health.json().get("status") == "ok":
                        stage = "books"
                if stage == "books" and (
                    _indexed_books(shop.database_urls["recommendation"]) >= expected
                ):
                    stage = "ranking"
                if stage == "ranking":
                    # The first ranking builds the index and loads the models: do it now.
                    books = client.get("/articles/a000/books")
                    if books.status_code == 200 and books.json()["books"]:
                        return
            except httpx.HTTPError:
                pass
            time.sleep(0.5)
    raise RuntimeError(
        f"the shop was not ready ({stage}) in {START_TIMEOUT}s:\n{shop.logs()[-5000:]}"
    )


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        # Ctrl+C, as a person stops it: uvicorn shuts down and the workers are stopped.
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)
    # Anything left of the process group (a worker that ignored its SIGTERM).
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)


@pytest.fixture(scope="session")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Shop]:
    """`bookshop up` on a free port, seeded (demo catalogue and the seed article a000), on
    Redis database 14 and three fresh Postgres databases; stopped and dropped afterwards."""
    if not os.access(CHROMIUM, os.X_OK):
        _unavailable(f"Chromium is not installed at {CHROMIUM} (apt-get install -y chromium)")
    redis_client = _claim_redis()
    urls = _create_databases()
    data_dir = tmp_path_factory.mktemp("shop")
    port = _free_port()
    env = {
        **os.environ,
        "REDIS_URL": E2E_REDIS_URL,
        "BOOKSHOP_DATA_DIR": str(data_dir),
        # One JSON event per line: the emails are read back from the logs.
        "BOOKSHOP_LOG_FORMAT": "json",
        "PYTHONUNBUFFERED": "1",
        **{f"{service.upper()}_DATABASE_URL": _asyncpg(url) for service, url in urls.items()},
    }
    log = data_dir / "shop.log"
    process = subprocess.Popen(
        [sys.executable, "-m", "services.cli", "up", "--port", str(port)],
        cwd=REPO,
        env=env,
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    running = Shop(
        base_url=f"http://127.0.0.1:{port}",
        data_dir=data_dir,
        env=env,
        process=process,
        database_urls=urls,
    )
    try:
        _wait_until_open(running, log)
        yield running
    finally:
        _stop(process)
        _drop_databases(urls)
        redis_client.flushdb()
        redis_client.close()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Debian's Chromium (Playwright cannot download its own here); one per test module."""
    if not os.access(CHROMIUM, os.X_OK):
        _unavailable(f"Chromium is not installed at {CHROMIUM} (apt-get install -y chromium)")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The first browser test also waits for the shop to start: give it that time as well."""
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.path)).parents:
            item.add_marker(pytest.mark.timeout(START_TIMEOUT + 300))


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    """Keep each phase's report on the test, so fixtures can tell whether it failed."""
    report = yield
    setattr(item, f"report_{report.when}", report)
    return report


def _artifact_name(node: pytest.Item) -> str:
    return re.sub(r"[^\w.\-]+", "_", node.name).strip("_")


def _open_page(
    browser: Browser, shop: Shop, request: pytest.FixtureRequest, **options: Any
) -> Iterator[Page]:
    context = browser.new_context(base_url=shop.base_url, **options)
    context.set_default_timeout(15_000)
    page = context.new_page()
    try:
        yield page
    finally:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        name = _artifact_name(request.node)
        suffix = "" if request.fixturename == "page" else f"-{request.fixturename}"
        try:
            page.screenshot(path=str(ARTIFACTS / f"{name}{suffix}.png"), full_page=True)
            failed = any(
                getattr(getattr(request.node, f"report_{when}", None), "failed", False)
                for when in ("setup", "call")
            )
            if failed:
                # Where the page was, first: a failure's HTML alone rarely says.
                (ARTIFACTS / f"{name}{suffix}.html").write_text(
                    f"<!-- {page.url} -->\n{page.content()}", encoding="utf-8"
                )
        finally:
            context.close()


@pytest.fixture
def page(browser: Browser, shop: Shop, request: pytest.FixtureRequest) -> Iterator[Page]:
    """A desktop-sized window in a fresh browser context (no cookies); paths are relative to
    the shop, e.g. `page.goto("/books/9798463348616")`."""
    yield from _open_page(browser, shop, request, viewport=DESKTOP)


@pytest.fixture
def phone_page(browser: Browser, shop: Shop, request: pytest.FixtureRequest) -> Iterator[Page]:
    """A phone-sized window (390x844, touch) for the "readable on a phone" checks."""
    yield from _open_page(browser, shop, request, viewport=PHONE, is_mobile=True, has_touch=True)


SignIn = Callable[..., StaffAccount]


@pytest.fixture
def signed_in(shop: Shop) -> SignIn:
    """`signed_in(page, "editor")`: a new staff account with that role, signed in on `page`
    through /staff/login with the keyboard only. Returns the account."""

    def sign_in(page: Page, role: str, *, username: str | None = None) -> StaffAccount:
        account = shop.staff(username or f"{role.replace('_', '-')}-{uuid.uuid4().hex[:6]}", role)
        page.goto("/staff/login")
        # The username field has autofocus: the keyboard alone from here.
        page.wait_for_function("document.activeElement && document.activeElement.id")
        page.keyboard.type(account.username)
        page.keyboard.press("Tab")
        page.keyboard.type(account.password)
        with page.expect_navigation():
            page.keyboard.press("Enter")
        if "/staff/login" in page.url:
            raise AssertionError(f"signing in as {account.username} failed: {page.content()}")
        return account

    return sign_in

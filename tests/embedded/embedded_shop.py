"""What the embedded-shop tests share: a free port and `bookshop up` started as the README
starts it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from loopback_server import bound_socket

REPO = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with bound_socket() as sock:
        return int(sock.getsockname()[1])


def embedded_environment(data_dir: Path) -> dict[str, str]:
    """The README's `bookshop up`: no broker or databases configured, so all of them embedded."""
    env = {
        name: value
        for name, value in os.environ.items()
        if name != "REDIS_URL" and not name.endswith("_DATABASE_URL")
    }
    return {**env, "BOOKSHOP_DATA_DIR": str(data_dir), "PYTHONUNBUFFERED": "1"}


def start_up(port: int, data_dir: Path, output: Path, *options: str) -> subprocess.Popen[bytes]:
    """`bookshop up --port PORT [options]` on `data_dir`, in a session of its own (so a signal
    sent to the test does not reach it), printing to `output`."""
    return subprocess.Popen(
        [sys.executable, "-m", "services.cli", "up", "--port", str(port), *options],
        cwd=REPO,
        env=embedded_environment(data_dir),
        stdout=output.open("wb"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )

"""What the embedded-shop tests share: a free port and the README's environment."""

from __future__ import annotations

import os
from pathlib import Path

from loopback_server import bound_socket


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

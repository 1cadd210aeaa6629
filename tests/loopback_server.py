"""An ASGI app served by uvicorn in a thread on a loopback port, for tests that need real sockets
(webhooks delivered over HTTP, the SDK talking to the stand-in, a proxy in between)."""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import uvicorn


def bound_socket() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    return sock


def url_of(sock: socket.socket) -> str:
    return f"http://127.0.0.1:{sock.getsockname()[1]}"


class ServerThread:
    """An ASGI app under uvicorn in a thread of its own, on an already bound socket."""

    def __init__(self, app: Any, sock: socket.socket) -> None:
        self.url = url_of(sock)
        self._sock = sock
        self._server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on"))
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [sock]}, daemon=True
        )

    def __enter__(self) -> ServerThread:
        self.start()
        self.wait_started()
        return self

    def __exit__(self, *_: object) -> None:
        self.stop()
        self.join()

    def start(self) -> None:
        self._thread.start()

    def wait_started(self) -> None:
        deadline = time.monotonic() + 15
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("server did not start within 15 s")
            time.sleep(0.02)

    def stop(self) -> None:
        self._server.should_exit = True

    def join(self) -> None:
        self._thread.join(timeout=15)
        self._sock.close()


@contextlib.contextmanager
def serving(*servers: ServerThread) -> Iterator[tuple[ServerThread, ...]]:
    """Several servers started side by side and stopped side by side: each takes a few tenths of
    a second to start and to close its connections, and none waits for another's."""
    try:
        for server in servers:
            server.start()
        for server in servers:
            server.wait_started()
        yield servers
    finally:
        for server in servers:
            server.stop()
        for server in servers:
            server.join()

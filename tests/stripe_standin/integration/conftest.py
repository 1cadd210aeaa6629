"""A stand-in under uvicorn on a free loopback port, and a webhook receiver beside it."""

import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest
import stripe
import uvicorn

from services.stripe_standin import StripeStandinSettings, create_app

WEBHOOK_SECRET = "whsec_integration_test"


@dataclass
class WebhookReceiver:
    """Records every delivery; answers the statuses in `planned` first, then 200."""

    url: str = ""
    planned: list[int] = field(default_factory=list)
    received: list[tuple[str, bytes]] = field(default_factory=list)

    def wait_for(self, count: int, timeout: float = 5.0) -> list[tuple[str, bytes]]:
        deadline = time.monotonic() + timeout
        while len(self.received) < count:
            if time.monotonic() > deadline:
                raise AssertionError(f"{len(self.received)} deliveries arrived, wanted {count}")
            time.sleep(0.02)
        return self.received


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    record = WebhookReceiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            record.received.append((self.headers.get("Stripe-Signature", ""), body))
            self.send_response(record.planned.pop(0) if record.planned else 200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    record.url = f"http://127.0.0.1:{server.server_address[1]}/webhooks/stripe"
    # Polled for shutdown every 0.05 s, not the default 0.5 s every test would wait at its end.
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    )
    thread.start()
    yield record
    server.shutdown()
    server.server_close()


@dataclass
class RunningStandin:
    base_url: str

    def client(self, timeout: float = 5.0) -> stripe.StripeClient:
        """The SDK pointed at the stand-in, exactly as the checkout service points it."""
        return stripe.StripeClient(
            "sk_test_integration",
            base_addresses={"api": self.base_url},
            http_client=stripe.RequestsClient(timeout=timeout),
            max_network_retries=0,
        )

    def control(self, method: str, path: str, **kwargs: object) -> httpx.Response:
        response = httpx.request(method, f"{self.base_url}/_standin{path}", **kwargs)  # type: ignore[arg-type]
        response.raise_for_status()
        return response


@pytest.fixture
def standin(receiver: WebhookReceiver) -> Iterator[RunningStandin]:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    base_url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    settings = StripeStandinSettings(
        webhook_urls=[receiver.url],
        webhook_secret=WEBHOOK_SECRET,
        public_base_url=base_url,
        webhook_retry_delays=[0.1, 0.2],
        expiry_sweep_seconds=0.1,
    )
    server = uvicorn.Server(uvicorn.Config(create_app(settings), log_level="warning"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("The stand-in did not start within 10 s")
        time.sleep(0.02)
    yield RunningStandin(base_url)
    server.should_exit = True
    thread.join(timeout=10)
    sock.close()

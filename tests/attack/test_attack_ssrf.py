"""An article's address must not reach the shop's own network: loopback, private, link-local
and metadata addresses are refused after the name is resolved, and through redirects too,
unless the setting lets them through (as tests with a loopback server do, explicitly)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpcore
import pytest

from services.recommendation.fetching import HttpFetcher
from services.recommendation.public_addresses import (
    PrivateAddress,
    PublicOnlyBackend,
    is_public,
    public_only_transport,
    resolve,
)

ARTICLE = b"<html><body><article><h1>Secret</h1><p>Internal only.</p></article></body></html>"


class InternalPages(BaseHTTPRequestHandler):
    """A service on the shop's own machine; `/bounce` redirects to the same machine."""

    def do_GET(self) -> None:
        if self.path == "/bounce":
            self.send_response(302)
            port = self.headers.get("Host", "").rpartition(":")[2]
            self.send_header("Location", f"http://localhost:{port}/")
            self.end_headers()
            return
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(ARTICLE)))
        self.end_headers()
        self.wfile.write(ARTICLE)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def internal() -> Iterator[tuple[str, int]]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), InternalPages)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield "127.0.0.1", int(server.server_address[1])
    server.shutdown()
    server.server_close()


def fetcher(*, allow_private: bool = False) -> HttpFetcher:
    return HttpFetcher(
        timeout_seconds=2, max_bytes=64 * 1024, allow_private_addresses=allow_private
    )


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "127.8.9.10",
        "::1",
        "10.1.2.3",
        "172.16.0.9",
        "192.168.1.1",
        "169.254.169.254",  # cloud metadata
        "100.100.100.200",  # another cloud's metadata
        "fd00:ec2::254",
        "fe80::1%eth0",
        "100.64.0.1",  # carrier-grade NAT
        "0.0.0.0",
        "::ffff:127.0.0.1",  # IPv4 inside IPv6
        "224.0.0.1",
        "240.0.0.1",
    ],
)
def test_addresses_off_the_public_internet_are_not_public(address: str) -> None:
    assert not is_public(address)


@pytest.mark.parametrize("address", ["93.184.215.14", "151.101.0.81", "2a04:4e42::81"])
def test_public_addresses_are_public(address: str) -> None:
    assert is_public(address)


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:{port}/article",
        "http://localhost:{port}/article",  # a name, refused after resolving it
        "http://2130706433:{port}/article",  # 127.0.0.1 written as one number
        "http://[::ffff:127.0.0.1]:{port}/article",
        "http://0.0.0.0:{port}/article",
        "http://169.254.169.254/latest/meta-data/",
        "http://10.255.255.1/",
    ],
)
async def test_the_fetcher_refuses_the_shops_own_network(
    internal: tuple[str, int], url: str
) -> None:
    with pytest.raises(PrivateAddress, match="not on the public internet"):
        await fetcher().fetch(url.format(port=internal[1]))


async def test_a_name_that_resolves_to_a_private_address_is_refused_when_connecting(
    internal: tuple[str, int],
) -> None:
    """A public-looking name whose DNS answer is private (or changes to private) is refused."""

    async def rebinding(host: str, port: int) -> list[str]:
        return ["93.184.215.14", "127.0.0.1"] if host == "paper.example" else []

    backend = PublicOnlyBackend(resolver=rebinding)
    with pytest.raises(PrivateAddress, match=r"127\.0\.0\.1"):
        await backend.connect_tcp("paper.example", internal[1])


PRETEND_PUBLIC = "93.184.215.14"


class PretendInternet(httpcore.AnyIOBackend):
    """The network, except that one public address is served by the loopback test server."""

    async def connect_tcp(self, host: str, port: int, *args: Any, **kwargs: Any) -> Any:
        return await super().connect_tcp(
            "127.0.0.1" if host == PRETEND_PUBLIC else host, port, *args, **kwargs
        )


async def test_a_redirect_to_the_shops_own_network_is_refused(internal: tuple[str, int]) -> None:
    async def paper_is_public(host: str, port: int) -> list[str]:
        return [PRETEND_PUBLIC] if host == "paper.example" else await resolve(host, port)

    transport = public_only_transport(paper_is_public, PretendInternet())
    public_site = HttpFetcher(timeout_seconds=2, max_bytes=64 * 1024, transport=transport)
    page = await public_site.fetch(f"http://paper.example:{internal[1]}/")
    assert "Internal only" in page.content  # the pretend public site is read

    # Its /bounce sends the fetcher on to localhost: that hop is refused.
    with pytest.raises(PrivateAddress, match="localhost"):
        await public_site.fetch(f"http://paper.example:{internal[1]}/bounce")


async def test_with_the_setting_on_a_loopback_server_is_fetched(internal: tuple[str, int]) -> None:
    page = await fetcher(allow_private=True).fetch(f"http://127.0.0.1:{internal[1]}/")
    assert "Internal only" in page.content


def test_the_recommendation_endpoint_refuses_a_private_address_with_a_clear_400(
    shop: Any, internal: tuple[str, int]
) -> None:
    response = shop.recommendation.post(
        "/recommendations", json={"url": f"http://localhost:{internal[1]}/"}
    )
    assert response.status_code == 400, response.text
    assert "not on the public internet" in response.json()["detail"]

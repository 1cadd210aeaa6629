"""Fetch only from the public internet: an article's address (and every redirect after it) must
not lead the shop's servers to its own network, the machine itself or a cloud metadata service.

The check runs when a connection is made, on the addresses the name resolved to, and the
connection goes to the address that was checked: a name that resolves to a public address
when asked first and to a private one a moment later (DNS rebinding) gains nothing.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

import httpcore
import httpx

from services.recommendation.domain import not_a_web_address
from shared.errors import InvalidInput

Resolver = Callable[[str, int], Awaitable[list[str]]]

# Metadata services some clouds run on addresses `is_global` alone would let through.
_METADATA = frozenset(
    ipaddress.ip_address(a) for a in ("100.100.100.200", "fd00:ec2::254", "169.254.169.254")
)


class PrivateAddress(InvalidInput):
    """The address leads into a private network, the machine itself or a metadata service."""


def is_public(address: str) -> bool:
    """True for an address on the public internet (not private, loopback, link-local,
    multicast, reserved, shared or unspecified, nor a metadata service)."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast and ip not in _METADATA


async def resolve(host: str, port: int) -> list[str]:
    """Every address `host` resolves to (an address given as such is its own answer)."""
    loop = asyncio.get_running_loop()
    try:
        found = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as error:
        raise httpcore.ConnectError(f"cannot resolve {host}: {error}") from error
    except UnicodeError as error:
        # IDNA cannot encode the name (an empty label, say): no lookup was made, so none failed.
        raise not_a_web_address(host) from error
    return list(dict.fromkeys(str(info[4][0]) for info in found))


class PublicOnlyBackend(httpcore.AsyncNetworkBackend):
    """httpcore's network backend, refusing connections to anything but public addresses."""

    def __init__(
        self, inner: httpcore.AsyncNetworkBackend | None = None, resolver: Resolver = resolve
    ) -> None:
        self._inner = inner or httpcore.AnyIOBackend()
        self._resolve = resolver

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        addresses = await self._resolve(host, port)
        refused = [address for address in addresses if not is_public(address)]
        if refused or not addresses:
            raise PrivateAddress(
                f"{host} leads to {', '.join(refused) or 'no address'}, which is not on the "
                "public internet; the shop fetches articles only from public web sites."
            )
        # TLS still checks the certificate against the name: httpcore passes the URL's host.
        return await self._inner.connect_tcp(
            addresses[0],
            port,
            timeout=timeout,
            local_address=local_address,
            socket_options=socket_options,
        )

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        raise PrivateAddress("The shop fetches articles only from public web sites.")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


def public_only_transport(
    resolver: Resolver = resolve, inner: httpcore.AsyncNetworkBackend | None = None
) -> httpx.AsyncHTTPTransport:
    """An httpx transport whose every connection (redirects too) goes to a public address;
    `resolver` and `inner` replace DNS and the network (tests)."""
    transport = httpx.AsyncHTTPTransport()
    # httpx builds its connection pool itself; the backend is where connections are made.
    transport._pool._network_backend = PublicOnlyBackend(inner, resolver=resolver)
    return transport

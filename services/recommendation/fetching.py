"""Fetching an article from its address: http(s) only, a deadline for the whole fetch, a size cap.

The deadline covers the whole fetch, not each read, so a server that drips a byte a
second cannot hold a request open; the size cap is checked as bytes arrive, so a huge
page is dropped after its first few megabytes rather than read to the end. Unless told
otherwise, only public addresses are fetched (see public_addresses).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

import httpx

from services.recommendation.domain import check_url
from services.recommendation.public_addresses import public_only_transport
from shared.errors import Unprocessable

if TYPE_CHECKING:
    from services.recommendation.settings import RecommendationSettings

_READABLE_TYPES = ("text/html", "application/xhtml+xml", "text/plain")
_MAX_REDIRECTS = 5


@dataclass(frozen=True)
class FetchedPage:
    url: str
    content: str
    is_html: bool


class PageFetcher(Protocol):
    async def fetch(self, url: str) -> FetchedPage: ...


class HttpFetcher:
    def __init__(
        self,
        *,
        timeout_seconds: float,
        max_bytes: int,
        allow_private_addresses: bool = False,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        """`allow_private_addresses` lets it fetch from this machine and private networks
        (tests with a loopback server); `transport` replaces the network (tests)."""
        self._timeout = timeout_seconds
        self._max_bytes = max_bytes
        self._allow_private = allow_private_addresses
        self._transport = transport

    @classmethod
    def from_settings(cls, settings: RecommendationSettings) -> HttpFetcher:
        return cls(
            timeout_seconds=settings.fetch_timeout_seconds,
            max_bytes=settings.fetch_max_bytes,
            allow_private_addresses=settings.fetch_allow_private_addresses,
        )

    async def fetch(self, url: str) -> FetchedPage:
        url = check_url(url)
        try:
            async with asyncio.timeout(self._timeout):
                return await self._get(url)
        except (TimeoutError, httpx.TimeoutException) as error:
            raise Unprocessable(
                f"{url} did not send the article within {self._timeout:g} seconds."
            ) from error
        except httpx.HTTPError as error:
            raise Unprocessable(f"Could not fetch {url}: {error}") from error

    async def _get(self, url: str) -> FetchedPage:
        async with (
            httpx.AsyncClient(
                timeout=self._timeout,
                follow_redirects=True,
                max_redirects=_MAX_REDIRECTS,
                transport=self._transport
                or (None if self._allow_private else public_only_transport()),
                headers={"User-Agent": "bookshop-recommendation/1.0"},
            ) as client,
            client.stream("GET", url) as response,
        ):
            if response.status_code >= 400:
                raise Unprocessable(f"{url} answered {response.status_code}, not an article.")
            media_type = response.headers.get("content-type", "").split(";")[0].strip().lower()
            if media_type not in _READABLE_TYPES:
                raise Unprocessable(
                    f"{url} sent {media_type or 'an unnamed type'}; "
                    "only HTML or plain text can be read."
                )
            declared = response.headers.get("content-length", "")
            if declared.isdigit() and int(declared) > self._max_bytes:
                raise self._too_big(url)
            body = bytearray()
            async for chunk in response.aiter_bytes():
                body += chunk
                if len(body) > self._max_bytes:
                    raise self._too_big(url)
            encoding = response.charset_encoding or "utf-8"
            try:
                content = bytes(body).decode(encoding, errors="replace")
            except LookupError:
                content = bytes(body).decode("utf-8", errors="replace")
            return FetchedPage(
                url=str(response.url), content=content, is_html=media_type != "text/plain"
            )

    def _too_big(self, url: str) -> Unprocessable:
        return Unprocessable(
            f"{url} is larger than {self._max_bytes // 1024:,} KB; send the article's text instead."
        )

"""Fetching an article from its address: http(s) only, a deadline for the whole fetch, a size cap.

The deadline covers the whole fetch, not each read, so a server that drips a byte a
second cannot hold a request open; the size cap is checked as bytes arrive, so a huge
page is dropped after its first few megabytes rather than read to the end. Unless told
otherwise, only public addresses are fetched (see public_addresses).
"""

from __future__ import annotations

import asyncio
import codecs
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

import httpx

from services.recommendation.domain import check_url
from services.recommendation.public_addresses import public_only_transport
from shared.errors import InvalidInput, Unprocessable

if TYPE_CHECKING:
    from services.recommendation.settings import RecommendationSettings

_READABLE_TYPES = ("text/html", "application/xhtml+xml", "text/plain")
_MAX_REDIRECTS = 5
# HTML wants a <meta> charset within the first 1024 bytes; pages with a long <head> put it later.
_META_SCAN_BYTES = 4096
# Both <meta charset="..."> and <meta http-equiv="Content-Type" content="text/html; charset=...">.
_META_CHARSET = re.compile(rb"""<meta\s[^>]*?charset\s*=\s*["']?\s*([\w.:-]+)""", re.IGNORECASE)
# WHATWG Encoding Standard labels for windows-1252 that Python has no alias for.
_MISSING_LABELS = {"x-cp1252": "cp1252", "iso88591": "cp1252"}
# Browsers read a page labelled iso-8859-1 or us-ascii as windows-1252 (the Encoding Standard
# maps those labels to it), and such pages are written in it: their curly quotes, dashes and
# euro signs sit in 0x80-0x9F, which the strict codecs read as control characters, and
# enough of those make a page look binary.
_BROWSER_CODECS = {"ascii": "cp1252", "iso8859-1": "cp1252"}
# What an address check_url let through, or one it redirects to, raises when httpx cannot
# parse it or the resolver or socket refuses it, instead of an httpx.HTTPError (UnicodeError,
# from IDNA, is a ValueError).
_MALFORMED_ADDRESS = (httpx.InvalidURL, ValueError, OverflowError)


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
        except _MALFORMED_ADDRESS as error:
            raise _invalid_address(url) from error
        except ExceptionGroup as group:
            # anyio's connect reports the socket's refusal of a port (OverflowError) in a group.
            if group.split(_MALFORMED_ADDRESS)[1] is not None:
                raise
            raise _invalid_address(url) from group

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
            return FetchedPage(
                url=str(response.url),
                content=_decode_page(bytes(body), response.charset_encoding),
                is_html=media_type != "text/plain",
            )

    def _too_big(self, url: str) -> Unprocessable:
        return Unprocessable(
            f"{url} is larger than {self._max_bytes // 1024:,} KB; send the article's text instead."
        )


def _invalid_address(url: str) -> InvalidInput:
    return InvalidInput(
        f"Could not fetch {url}: it, or an address it redirects to, is not a valid web address."
    )


def _decode_page(body: bytes, header_charset: str | None) -> str:
    """The page's text in the charset its Content-Type header names, else the one a <meta>
    tag names (many pages declare it only there), else UTF-8.

    A byte the charset has no character for reads as U+FFFD, not a refusal: a stray one is
    one unknown character, and a page made of them is refused as binary when it is checked.
    """
    for charset in (header_charset, _meta_charset(body)):
        codec = _codec(charset)
        if codec is None:
            continue
        try:
            return body.decode(codec, errors="replace")
        except (LookupError, UnicodeError):
            # A codec Python has that is no text encoding (base64, rot13) or that cannot
            # replace what it cannot read (idna, punycode): no charset a browser would use.
            continue
    return body.decode("utf-8", errors="replace")


def _meta_charset(body: bytes) -> str | None:
    match = _META_CHARSET.search(body[:_META_SCAN_BYTES])
    return match.group(1).decode("ascii") if match else None


def _codec(name: str | None) -> str | None:
    """Python's codec for a charset name, read as browsers read it; None for no name or one
    Python does not know."""
    if name is None:
        return None
    label = name.strip().lower()
    try:
        codec = codecs.lookup(_MISSING_LABELS.get(label, label)).name
    except LookupError:
        return None
    return _BROWSER_CODECS.get(codec, codec)

"""Malformed article addresses through the HTTP API: each is refused with a clear 400 before
anything is fetched, and nothing is stored."""

from __future__ import annotations

import pytest

from services.recommendation.models import Article


@pytest.mark.parametrize(
    "url",
    [
        "http://[::1/a",
        "http://example.com:abc/",
        "https://xn--/a",
        "http://a..b/x",
        "http://1.1.1.1:99999/a",
    ],
    ids=["unclosed-ipv6", "port-not-a-number", "empty-punycode", "empty-label", "port-too-big"],
)
async def test_a_malformed_address_is_refused_clearly_and_nothing_is_stored(
    client, feed, staff, url: str
) -> None:
    response = await client.post(
        "/recommendations", json={"article_id": "to-store", "url": url}, headers=staff
    )

    assert response.status_code == 400, response.text
    assert f"{url!r} is not a valid web address" in response.json()["detail"]
    assert await feed.count(Article) == 0

"""Resolving an article's host: a name that cannot be looked up at all is bad input."""

from __future__ import annotations

import pytest

from services.recommendation.public_addresses import resolve
from shared.errors import InvalidInput


@pytest.mark.parametrize("host", ["a..b", ".example.com", f"{'x' * 64}.example"])
async def test_a_name_idna_cannot_encode_is_refused_as_not_a_web_address(host: str) -> None:
    with pytest.raises(InvalidInput, match="not a valid web address"):
        await resolve(host, 80)

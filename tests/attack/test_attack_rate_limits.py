"""Rate limits: staff sign-in per address and username, the order-status look-up and
POST /recommendations per address; over the limit a 429 with Retry-After, counted in the
shared Redis so every web process holds the same count."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import redis

from services.catalogue.app import create_app as create_catalogue
from shared.ratelimit import KEY_PREFIX, RateLimitSettings

LOGIN_LIMIT, STATUS_LIMIT, RECOMMENDATIONS_LIMIT = 3, 3, 4


@pytest.fixture(scope="module")
def settings_overrides() -> dict[str, dict[str, Any]]:
    limits = RateLimitSettings(
        login_per_minute=LOGIN_LIMIT,
        order_status_per_minute=STATUS_LIMIT,
        recommendations_per_minute=RECOMMENDATIONS_LIMIT,
    )
    return {service: {"rate_limits": limits} for service in SERVICES}


SERVICES = ("catalogue", "checkout", "recommendation")


@pytest.fixture(autouse=True)
def fresh_counts(shop: Any) -> Iterator[None]:
    with redis.Redis.from_url(shop.redis_url) as client:
        for key in client.scan_iter(f"{KEY_PREFIX}:*"):
            client.delete(key)
    yield


def sign_in(shop: Any, client: httpx.Client, username: str, password: str) -> httpx.Response:
    cookies, headers = shop.csrf()
    client.cookies.update(cookies)
    return client.post(
        "/staff/login", data={"username": username, "password": password}, headers=headers
    )


def assert_limited(response: httpx.Response) -> None:
    assert response.status_code == 429, response.text
    wait = int(response.headers["Retry-After"])
    assert 1 <= wait <= 60
    assert "Too many" in response.text


def test_sign_in_is_limited_per_address_and_username(shop: Any) -> None:
    with shop.client("catalogue") as client:
        for _ in range(LOGIN_LIMIT):
            assert sign_in(shop, client, "stock-person", "wrong password!").status_code == 401
        assert_limited(sign_in(shop, client, "stock-person", "wrong password!"))
        # The right password does not get round the limit...
        assert_limited(sign_in(shop, client, "Stock-Person", shop.staff_password))
        # ...and another username from the same address is counted apart.
        assert sign_in(shop, client, "editor-person", shop.staff_password).status_code == 303


def test_the_sign_in_limit_is_shared_by_every_web_process(shop: Any) -> None:
    """A second catalogue app on the same Redis sees the first one's count."""
    second = create_catalogue(shop.settings["catalogue"])
    with shop.serve(second) as other, shop.client("catalogue") as first:
        for _ in range(LOGIN_LIMIT - 1):
            assert sign_in(shop, first, "phone_orders-person", "wrong password!").status_code == 401
        with httpx.Client(base_url=other.url, timeout=30) as client:
            assert (
                sign_in(shop, client, "phone_orders-person", "wrong password!").status_code == 401
            )
            assert_limited(sign_in(shop, client, "phone_orders-person", "wrong password!"))
        assert_limited(sign_in(shop, first, "phone_orders-person", "wrong password!"))


def test_order_status_look_ups_are_limited_per_address(shop: Any) -> None:
    def look_up(reference: str, email: str) -> httpx.Response:
        return shop.checkout.post("/orders/status", data={"reference": reference, "email": email})

    for attempt in range(STATUS_LIMIT):
        assert look_up(f"BK-GUESS{attempt}", "someone@example.org").status_code == 404
    assert_limited(look_up(shop.order_reference, shop.order_email))


def test_recommendations_are_limited_per_address(shop: Any) -> None:
    article = {"text": "Strikes across the country as workers demand a pay rise."}
    for _ in range(RECOMMENDATIONS_LIMIT):
        assert shop.recommendation.post("/recommendations", json=article).status_code == 200
    assert_limited(shop.recommendation.post("/recommendations", json=article))
    # Reading an article's stored books is not limited.
    assert shop.recommendation.get(f"/articles/{shop.article_id}/books").status_code == 200

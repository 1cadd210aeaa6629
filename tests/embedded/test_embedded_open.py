"""`bookshop up` says the shop is open only when a reader can buy: on a first start the demo
catalogue reaches checkout as messages, and a Buy pressed before checkout had its copy was
told the shop does not sell the book. And one shop per data folder."""

from __future__ import annotations

import signal
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from embedded_shop import free_port, start_up

# A first start: three databases made, 208 books seeded and passed on, three workers loading.
OPEN_TIMEOUT = 240.0
OPEN_LINE = "The bookshop is open at "
DEMO_BOOK = "9798463348616"


@dataclass(frozen=True)
class OpenShop:
    url: str
    data_dir: Path
    output: Path


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OpenShop]:
    """`bookshop up` on a fresh data folder, yielded the moment it says it is open."""
    data_dir = tmp_path_factory.mktemp("shop")
    output = data_dir / "up.log"
    port = free_port()
    up = start_up(port, data_dir, output)
    try:
        deadline = time.monotonic() + OPEN_TIMEOUT
        while OPEN_LINE not in output.read_text():
            assert up.poll() is None, f"`bookshop up` exited early:\n{output.read_text()}"
            assert time.monotonic() < deadline, f"never said open:\n{output.read_text()}"
            time.sleep(0.1)
        yield OpenShop(f"http://127.0.0.1:{port}", data_dir, output)
    finally:
        up.send_signal(signal.SIGINT)
        try:
            up.wait(timeout=60)
        except subprocess.TimeoutExpired:
            up.kill()
            up.wait()


def _buy(shop: OpenShop) -> httpx.Response:
    return httpx.post(
        f"{shop.url}/checkout/buy", data={"isbn13": DEMO_BOOK, "quantity": "1"}, timeout=30
    )


def test_a_buy_pressed_as_soon_as_the_shop_says_open_goes_to_the_payment_page(
    shop: OpenShop,
) -> None:
    buy = _buy(shop)
    assert buy.status_code == 303, buy.text
    assert "/stripe/" in buy.headers["location"], buy.headers
    text = shop.output.read_text()
    assert text.index("waiting for the workers") < text.index(OPEN_LINE), text


def test_a_second_shop_on_the_same_data_folder_is_refused_and_the_first_carries_on(
    shop: OpenShop, tmp_path: Path
) -> None:
    output = tmp_path / "second.log"
    second = start_up(free_port(), shop.data_dir, output)
    assert second.wait(timeout=60) == 1, output.read_text()
    assert "A shop is already running on the data folder" in output.read_text()
    assert _buy(shop).status_code == 303

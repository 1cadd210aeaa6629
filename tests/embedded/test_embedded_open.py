"""`bookshop up` says the shop is open only when a reader can buy: on a first start the demo
catalogue reaches checkout as messages, and a Buy pressed before checkout had its copy was
told the shop does not sell the book."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
from embedded_shop import embedded_environment, free_port

REPO = Path(__file__).resolve().parents[2]
# A first start: three databases made, 208 books seeded and passed on, three workers loading.
OPEN_TIMEOUT = 240.0
OPEN_LINE = "The bookshop is open at "
DEMO_BOOK = "9798463348616"


def test_a_buy_pressed_as_soon_as_the_shop_says_open_goes_to_the_payment_page(
    tmp_path: Path,
) -> None:
    port = free_port()
    output = tmp_path / "up.log"
    shop = subprocess.Popen(
        [sys.executable, "-m", "services.cli", "up", "--port", str(port)],
        cwd=REPO,
        env=embedded_environment(tmp_path),
        stdout=output.open("wb"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + OPEN_TIMEOUT
        while OPEN_LINE not in output.read_text():
            assert shop.poll() is None, f"`bookshop up` exited early:\n{output.read_text()}"
            assert time.monotonic() < deadline, f"never said open:\n{output.read_text()}"
            time.sleep(0.1)
        buy = httpx.post(
            f"http://127.0.0.1:{port}/checkout/buy",
            data={"isbn13": DEMO_BOOK, "quantity": "1"},
            timeout=30,
        )
        assert buy.status_code == 303, buy.text
        assert "/stripe/" in buy.headers["location"], buy.headers
        text = output.read_text()
        assert text.index("waiting for the workers") < text.index(OPEN_LINE), text
    finally:
        shop.send_signal(signal.SIGINT)
        try:
            shop.wait(timeout=60)
        except subprocess.TimeoutExpired:
            shop.kill()
            shop.wait()

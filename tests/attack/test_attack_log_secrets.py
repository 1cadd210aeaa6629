"""The shop's logs after a whole reader journey and a staff sign-in hold no secrets and no
customer's details: no Stripe key or webhook secret, no CSRF secret, no staff password, no
session cookie or token, no card number, no customer's email or address.

The shop is configured as deployed (SMTP set: without it, emails are written to the log on
purpose, for the one-machine demo), and its logs are the JSON lines `configure_logging` writes.
"""

from __future__ import annotations

import io
import re
import socket
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from aiosmtpd.controller import Controller

from shared.auth.csrf import CSRF_COOKIE, CSRF_HEADER
from shared.auth.sessions import SESSION_COOKIE
from shared.observability.logs import configure_logging

CARD = "4242 4242 4242 4242"
READER_EMAIL = "web.reader.5150@example.org"
PHONE_EMAIL = "phone.customer.6160@example.org"
PHONE_ADDRESS = ["12 Hidden Road", "Bristol", "BS1 4XX"]
# Typed on Stripe's page: it reaches checkout in the webhook's session.
WEB_ADDRESS = {
    "shipping_name": "Wendy Webreader",
    "shipping_line1": "34 Secret Crescent",
    "shipping_city": "Leeds",
    "shipping_postal_code": "LS1 5QQ",
    "shipping_country": "GB",
}
CARD_NUMBER = re.compile(r"(?<!\d)(?:\d[ -]?){12,18}\d(?!\d)")


@dataclass
class Mailbox:
    received: list[bytes] = field(default_factory=list)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.received.append(envelope.content)
        return "250 OK"


@pytest.fixture(scope="module")
def mailbox() -> Iterator[tuple[Mailbox, int]]:
    box = Mailbox()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = int(probe.getsockname()[1])
    controller = Controller(box, hostname="127.0.0.1", port=port)
    controller.start()
    yield box, port
    controller.stop()


@pytest.fixture(scope="module")
def settings_overrides(mailbox: tuple[Mailbox, int]) -> dict[str, dict[str, Any]]:
    return {"checkout": {"smtp_host": "127.0.0.1", "smtp_port": mailbox[1]}}


@pytest.fixture
def shop_logs(monkeypatch: pytest.MonkeyPatch, logging_restored: None) -> io.StringIO:
    """Everything the shop logs while the test runs, as its processes write it."""
    captured = io.StringIO()
    monkeypatch.setattr(sys, "stdout", captured)
    # The Stripe SDK's line per request too: a deployer may turn them on.
    configure_logging(level="INFO", json=True, service="shop", per_call=True)
    return captured


def luhn_valid(digits: str) -> bool:
    total = 0
    for position, digit in enumerate(reversed(digits)):
        value = int(digit) * (2 if position % 2 else 1)
        total += value - 9 if value > 9 else value
    return total % 10 == 0


def reader_journey(shop: Any) -> str:
    """Book page, Buy, pay on the (stand-in) Stripe page, back to the shop, order status."""
    with shop.client("catalogue") as catalogue, shop.client("checkout") as checkout:
        assert catalogue.get(f"/books/{shop.isbns[3]}").status_code == 200
        bought = checkout.post(
            "/checkout/buy",
            data={"isbn13": shop.isbns[3], "quantity": "1", "email": READER_EMAIL},
        )
        assert bought.status_code == 303, bought.text
        payment_page = bought.headers["location"]
        with httpx.Client(timeout=30, follow_redirects=True) as browser:
            assert browser.get(payment_page).status_code == 200
            paid = browser.post(
                payment_page,
                data={
                    "action": "pay",
                    "card_number": CARD,
                    "cvc": "123",
                    "expiry": "12/34",
                    **WEB_ADDRESS,
                },
            )
        assert paid.status_code == 200, paid.text
        reference = re.search(r'class="reference"[^>]*>([^<]+)<', paid.text)
        assert reference is not None, paid.text
        deadline = time.monotonic() + 15
        while True:
            status = checkout.post(
                "/orders/status",
                data={"reference": reference.group(1), "email": READER_EMAIL},
            )
            assert status.status_code == 200, status.text
            if "paid" in status.text or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        assert ">paid<" in status.text
        return reference.group(1)


def staff_journey(shop: Any) -> list[str]:
    """Sign in with the form, look at the staff page, take a phone order; the cookie values."""
    with shop.client("catalogue") as catalogue:
        form = catalogue.get("/staff/login")
        token = re.search(r'name="_csrf_token" value="([^"]+)"', form.text)
        assert token is not None, form.text
        signed_in = catalogue.post(
            "/staff/login",
            data={
                "username": "phone_orders-person",
                "password": shop.staff_password,
                "_csrf_token": token.group(1),
            },
        )
        assert signed_in.status_code == 303, signed_in.text
        session = catalogue.cookies[SESSION_COOKIE]
        csrf = catalogue.cookies[CSRF_COOKIE]
        assert catalogue.get("/staff").status_code == 200
    with shop.client("checkout") as checkout:
        checkout.cookies.update({SESSION_COOKIE: session, CSRF_COOKIE: csrf})
        placed = checkout.post(
            "/api/checkout/orders",
            json={
                "customer": {
                    "name": "Phone Customer",
                    "email": PHONE_EMAIL,
                    "address": PHONE_ADDRESS,
                },
                "lines": [{"isbn": shop.isbns[4], "quantity": 1}],
                "delivery": "post",
            },
            headers={CSRF_HEADER: csrf, "Idempotency-Key": "log-journey-phone-order"},
        )
        assert placed.status_code == 201, placed.text
        sent = checkout.post(
            f"/api/checkout/orders/{placed.json()['reference']}/payment-link",
            headers={CSRF_HEADER: csrf},
        )
        assert sent.status_code == 200, sent.text
    return [session, csrf, token.group(1)]


def test_a_whole_journey_logs_no_secret_and_no_customers_details(
    shop: Any, shop_logs: io.StringIO, mailbox: tuple[Mailbox, int]
) -> None:
    reader_journey(shop)
    cookies = staff_journey(shop)
    deadline = time.monotonic() + 10
    while len(mailbox[0].received) < 2 and time.monotonic() < deadline:
        time.sleep(0.1)
    assert len(mailbox[0].received) >= 2, "the confirmation and the payment link were emailed"
    # One failed sign-in too: its log must not carry the password typed.
    with shop.client("catalogue") as catalogue:
        token = re.search(r'name="_csrf_token" value="([^"]+)"', catalogue.get("/staff/login").text)
        assert token is not None
        catalogue.post(
            "/staff/login",
            data={
                "username": "stock-person",
                "password": "typo-" + shop.staff_password,
                "_csrf_token": token.group(1),
            },
        )

    # The test's SMTP server (aiosmtpd) logs recipients; it stands for the mail provider.
    logs = "\n".join(
        line for line in shop_logs.getvalue().splitlines() if '"logger": "mail.log"' not in line
    )
    assert '"logger": "stripe"' in logs, "the journey's Stripe calls were logged"
    checkout_settings = shop.settings["checkout"]
    secrets = {
        "Stripe secret key": checkout_settings.stripe_api_key,
        "webhook secret": checkout_settings.stripe_webhook_secret,
        "CSRF signing key": checkout_settings.staff_auth.secret_key,
        "staff password": shop.staff_password,
        "session cookie": cookies[0],
        "CSRF cookie": cookies[1],
        "CSRF form token": cookies[2],
        "reader's email": READER_EMAIL,
        "phone customer's email": PHONE_EMAIL,
        **{f"address line {n}": line for n, line in enumerate(PHONE_ADDRESS[:2], 1)},
        "web reader's name": WEB_ADDRESS["shipping_name"],
        "web reader's street": WEB_ADDRESS["shipping_line1"],
    }
    found = [name for name, value in secrets.items() if value and value in logs]
    cards = [m for m in CARD_NUMBER.findall(logs) if luhn_valid(re.sub(r"\D", "", m))]
    assert not found, "the logs hold: " + "; ".join(
        f"{name} in {[line[:300] for line in logs.splitlines() if secrets[name] in line]}"
        for name in found
    )
    assert not cards, f"the logs hold card-like numbers: {cards}"
    assert "sk_test" not in logs and "whsec_" not in logs

"""What the emails say: the payment link's expiry by the shop's clock, and the receipt of an
order paid at the counter."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from services.checkout import emails
from services.checkout.models import Order, OrderLine


def collection_order() -> Order:
    return Order(
        reference="ACDEFGHJ",
        delivery="collection",
        customer_name="Clara Zetkin",
        customer_email="clara@example.org",
        books_pence=2 * 1299,
        postage_pence=0,
        postage_vat_pence=0,
        total_pence=2 * 1299,
        lines=[
            OrderLine(
                position=0,
                isbn13="9781788731799",
                title="The Ragged Trousered Philanthropists",
                unit_price_pence=1299,
                quantity=2,
            )
        ],
    )


@pytest.mark.parametrize(
    ("moment", "said"),
    [
        # Greenwich Mean Time in winter...
        (datetime(2026, 11, 27, 15, 5, tzinfo=UTC), "3:05pm on Friday 27 November"),
        # ...British Summer Time, an hour ahead of UTC, in summer.
        (datetime(2026, 7, 3, 11, 0, tzinfo=UTC), "12:00pm on Friday 3 July"),
        (datetime(2026, 7, 3, 23, 30, tzinfo=UTC), "12:30am on Saturday 4 July"),
        (datetime(2026, 1, 5, 9, 45, tzinfo=UTC), "9:45am on Monday 5 January"),
    ],
)
def test_times_are_said_by_the_shops_clock(moment: datetime, said: str) -> None:
    assert emails.shop_time(moment) == said


def test_the_payment_link_says_when_it_stops_working() -> None:
    email = emails.payment_link(
        collection_order(),
        url="https://pay.example/cs_1",
        expires_at=datetime(2026, 11, 27, 15, 5, tzinfo=UTC),
        postage_vat_percent=20,
    )
    assert "limited time" not in email.body
    assert "The link works until 3:05pm on Friday 27 November (UK time)" in email.body


def test_an_order_paid_at_the_counter_gets_its_receipt() -> None:
    email = emails.counter_receipt(collection_order(), postage_vat_percent=20)
    assert (email.kind, email.to_address) == ("confirmation", "clara@example.org")
    assert email.subject == "Your order ACDEFGHJ: paid and collected"
    assert "paid for it at the counter when you collected it" in email.body
    assert "2 x The Ragged Trousered Philanthropists @ £12.99 = £25.98" in email.body
    assert "Total: £25.98" in email.body
    assert "VAT included in total: £0.00" in email.body

"""The order's rules: its life, its reference, postage, VAT, quantities, refunds, phone numbers
and how long a payment link lives."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

import pytest

from services.checkout.domain import (
    REFERENCE_ALPHABET,
    Delivery,
    IllegalTransition,
    OrderStatus,
    PaymentMethod,
    PostageTable,
    PricedLine,
    RefundRoute,
    after_refunds,
    article_id,
    check_phone,
    check_transition,
    copies_left,
    has_uk_postcode,
    lines_refund_pence,
    new_reference,
    normalise_reference,
    parse_pounds,
    parse_quantity,
    payment_link_expiry,
    refund_amount,
    refund_route,
    restocks,
    same_phone,
    status_after_refund,
    totals_for,
)
from shared.errors import Conflict, InvalidInput

S = OrderStatus
# The order's life as DESIGN.md draws it, written out independently of the code under test.
LEGAL = {
    (S.PENDING, S.RESERVED),
    (S.PENDING, S.REJECTED),
    (S.PENDING, S.CANCELLED),
    (S.RESERVED, S.AWAITING_PAYMENT),
    (S.RESERVED, S.EXPIRED),
    (S.RESERVED, S.CANCELLED),
    (S.AWAITING_PAYMENT, S.PAID),
    # The payment link expired while the copies are still held: another way to pay is chosen.
    (S.AWAITING_PAYMENT, S.RESERVED),
    (S.AWAITING_PAYMENT, S.EXPIRED),
    (S.AWAITING_PAYMENT, S.CANCELLED),
    (S.PAID, S.FULFILLED),
    (S.PAID, S.REFUNDED),
    # A book that arrives damaged, or comes back, is refunded after dispatch or collection.
    (S.FULFILLED, S.REFUNDED),
    # A late payment: copies held again (paid) or gone (needs attention, then refunded).
    (S.EXPIRED, S.PAID),
    (S.EXPIRED, S.NEEDS_ATTENTION),
    (S.CANCELLED, S.PAID),
    (S.CANCELLED, S.NEEDS_ATTENTION),
    (S.NEEDS_ATTENTION, S.REFUNDED),
}
ALL_PAIRS = list(itertools.product(OrderStatus, OrderStatus))


@pytest.mark.parametrize(("current", "wanted"), sorted(LEGAL))
def test_every_legal_move_is_allowed(current: OrderStatus, wanted: OrderStatus) -> None:
    assert check_transition(current, wanted) is wanted


@pytest.mark.parametrize(("current", "wanted"), [pair for pair in ALL_PAIRS if pair not in LEGAL])
def test_every_other_move_raises(current: OrderStatus, wanted: OrderStatus) -> None:
    with pytest.raises(IllegalTransition) as raised:
        check_transition(current, wanted)
    assert isinstance(raised.value, Conflict)
    assert current.value in raised.value.message and wanted.value in raised.value.message


def test_final_statuses_go_nowhere() -> None:
    for final in (S.REJECTED, S.REFUNDED):
        assert not [w for w in OrderStatus if (final, w) in LEGAL]
        for wanted in OrderStatus:
            with pytest.raises(IllegalTransition):
                check_transition(final, wanted)


def test_references_are_eight_unambiguous_characters() -> None:
    references = {new_reference() for _ in range(2000)}
    assert len(references) == 2000
    for reference in references:
        assert len(reference) == 8
        assert set(reference) <= set(REFERENCE_ALPHABET)
    assert not set("01258BILOSZ") & set(REFERENCE_ALPHABET)


def test_reference_typed_with_spaces_or_dashes_is_found() -> None:
    assert normalise_reference(" acd-efg hj ") == "ACDEFGHJ"


@pytest.mark.parametrize(("raw", "expected"), [("1", 1), (" 3 ", 3), (10, 10), ("10", 10)])
def test_sensible_quantities(raw: object, expected: int) -> None:
    assert parse_quantity(raw, maximum=10) == expected


@pytest.mark.parametrize("raw", ["0", "-1", "11", 0, 11, "2.5", 2.5, "two", "", None, True, "1e3"])
def test_silly_quantities_are_refused(raw: object) -> None:
    with pytest.raises(InvalidInput):
        parse_quantity(raw, maximum=10)


TABLE = PostageTable.parse("1:295,2:395,4:0")


@pytest.mark.parametrize(("books", "pence"), [(1, 295), (2, 395), (3, 395), (4, 0), (9, 0)])
def test_postage_by_number_of_books(books: int, pence: int) -> None:
    assert TABLE.postage_pence(books, Delivery.POST) == pence


def test_collection_is_free() -> None:
    assert TABLE.postage_pence(1, Delivery.COLLECTION) == 0


@pytest.mark.parametrize("text", ["", "2:100", "1:100,1:200", "1:100,3:50,2:0", "1:-5", "one:100"])
def test_bad_postage_tables_are_refused(text: str) -> None:
    with pytest.raises(ValueError, match="Postage table"):
        PostageTable.parse(text)


def test_totals_show_vat_on_postage_only() -> None:
    lines = [
        PricedLine(isbn13="9781788731799", title="A", unit_price_pence=1299, quantity=1),
        PricedLine(isbn13="9780745334530", title="B", unit_price_pence=999, quantity=1),
    ]
    totals = totals_for(lines, delivery=Delivery.POST, postage=TABLE, postage_vat_percent=20)
    assert totals.books_pence == 2298
    assert totals.postage_pence == 395
    # 395 includes VAT at 20%: 395 / 1.2 = 329.17 net, 65.83 VAT, rounded to 66.
    assert totals.postage_vat_pence == 66
    assert totals.vat_pence == 66
    assert totals.total_pence == 2693


def test_collected_order_has_no_vat() -> None:
    lines = [PricedLine(isbn13="9781788731799", title="A", unit_price_pence=1299, quantity=2)]
    totals = totals_for(lines, delivery=Delivery.COLLECTION, postage=TABLE, postage_vat_percent=20)
    assert (totals.total_pence, totals.vat_pence) == (2598, 0)


def test_refund_by_amount_within_what_is_left() -> None:
    assert (
        refund_amount(total_pence=2000, refunded_pence=500, amount_pence=1500, lines_pence=None)
        == 1500
    )
    with pytest.raises(Conflict) as refused:
        refund_amount(total_pence=2000, refunded_pence=500, amount_pence=1501, lines_pence=None)
    assert refused.value.message == (
        "Only £15.00 of this order is left to refund; £15.01 was asked for."
    )


def test_refund_by_lines() -> None:
    assert (
        refund_amount(total_pence=2000, refunded_pence=0, amount_pence=None, lines_pence=999) == 999
    )


@pytest.mark.parametrize(("amount", "lines"), [(None, None), (100, 100), (0, None), (-5, None)])
def test_refund_needs_one_positive_amount(amount: int | None, lines: int | None) -> None:
    with pytest.raises(InvalidInput):
        refund_amount(total_pence=2000, refunded_pence=0, amount_pence=amount, lines_pence=lines)


LINES = [
    PricedLine(isbn13="9780745334530", title="Imperialism", unit_price_pence=1999, quantity=1),
    PricedLine(isbn13="9781788731799", title="Ragged", unit_price_pence=899, quantity=2),
]


def test_copies_left_are_those_not_refunded_by_line() -> None:
    assert copies_left(LINES, {}) == {"9780745334530": 1, "9781788731799": 2}
    assert copies_left(LINES, {"9781788731799": 1}) == {"9780745334530": 1, "9781788731799": 1}
    # Two refunds that raced each other past the check: never fewer than none.
    assert copies_left(LINES, {"9780745334530": 2})["9780745334530"] == 0


def test_lines_are_valued_within_their_copies_left() -> None:
    refunded = {"9781788731799": 1}
    wanted = {"9780745334530": 1, "9781788731799": 1}
    assert lines_refund_pence(LINES, refunded=refunded, wanted=wanted) == 1999 + 899


def test_a_copy_is_refunded_by_line_only_once() -> None:
    with pytest.raises(Conflict) as refused:
        lines_refund_pence(LINES, refunded={"9781788731799": 2}, wanted={"9781788731799": 1})
    assert refused.value.message == (
        "Refund from 0 to 0 copies of 'Ragged', not 1: 2 of its 2 refunded already."
    )


@pytest.mark.parametrize(
    ("wanted", "message"),
    [
        ({"9781788731799": 3}, "Refund from 0 to 2 copies of 'Ragged', not 3."),
        ({"9781788731799": 0}, "Refund at least one copy of 'Ragged', not 0."),
        ({"9780141036144": 1}, "This order has no line for ISBN 9780141036144."),
    ],
)
def test_lines_not_on_the_order_are_refused(wanted: dict[str, int], message: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        lines_refund_pence(LINES, refunded={}, wanted=wanted)
    assert refused.value.message == message


def test_only_a_full_refund_ends_the_order() -> None:
    assert status_after_refund(total_pence=2000, refunded_pence=1999) is None
    assert status_after_refund(total_pence=2000, refunded_pence=2000) is S.REFUNDED


@pytest.mark.parametrize(
    ("address", "has_one"),
    [
        (("1 Red Lane", "London", "N1 1AA"), True),
        (("10 Downing Street", "London SW1A 2AA"), True),
        (("Flat 2", "Croydon", "cr02yr"), True),
        (("Girobank", "Bootle", "GIR 0AA"), True),
        (("1 Red Lane", "London"), False),
        (("1 Red Lane", "London", "N1 1A"), False),
        (("10 Frauenstrasse", "10117 Berlin"), False),
    ],
)
def test_a_uk_postcode_is_found_in_an_address(address: tuple[str, ...], has_one: bool) -> None:
    assert has_uk_postcode(address) is has_one


@pytest.mark.parametrize(
    "typed",
    [
        "07700 900123",
        "+44 20 7946 0958",
        "(020) 7946 0958",
        " 020-7946-0958 ",
        "+44 (0)20 7946 0958",
        "0161.496.0000",
        "+1 212 555 0123",
        "+353 1 234 5678",
    ],
)
def test_phone_numbers_as_people_write_them(typed: str) -> None:
    check_phone(typed)


@pytest.mark.parametrize(
    "typed",
    [
        "abc",
        "123",
        "020 7946",  # 7 digits: a local number without its area code
        "0044 20 7946 0958 123",  # 16 digits
        "07700 900123 ext 4",
        "07700 9OO123",  # letters O for zeros
        "44+ 20 7946 0958",
        "07700/900123",
    ],
)
def test_what_is_not_a_phone_number_is_refused(typed: str) -> None:
    with pytest.raises(InvalidInput, match="does not look like a phone number"):
        check_phone(typed)


NOW = datetime(2026, 11, 26, 15, 0, tzinfo=UTC)
MARGIN = timedelta(minutes=5)


def test_a_payment_link_lives_as_long_as_stripe_allows_within_the_hold() -> None:
    # Copies held for a week (collection): the link lives Stripe's 24 hours, less a minute.
    week = payment_link_expiry(hold_until=NOW + timedelta(days=7), now=NOW, margin=MARGIN)
    assert week == NOW + timedelta(hours=24) - timedelta(minutes=1)
    # Held for 2 hours more: the link ends a margin before the hold does.
    soon = payment_link_expiry(hold_until=NOW + timedelta(hours=2), now=NOW, margin=MARGIN)
    assert soon == NOW + timedelta(hours=2) - MARGIN


def test_no_payment_link_when_the_hold_ends_within_stripes_30_minutes() -> None:
    hold_until = NOW + timedelta(minutes=35)
    assert payment_link_expiry(hold_until=hold_until, now=NOW, margin=MARGIN) is None
    assert payment_link_expiry(hold_until=hold_until, now=NOW, margin=timedelta(0)) is not None


@pytest.mark.parametrize(
    ("given", "stored", "same"),
    [
        ("+44 161 496 0000", "0161 496 0000", True),
        ("(0161) 496-0000", "0161 496 0000", True),
        ("0161 496 0001", "0161 496 0000", False),
        ("", "", False),
        ("496 0000", "496 0000", False),  # too short to name anyone
    ],
)
def test_a_phone_number_is_the_same_however_it_is_written(
    given: str, stored: str, same: bool
) -> None:
    assert same_phone(given, stored) is same


def test_refunded_copies_go_back_on_the_shelf_only_if_they_never_left_or_came_back() -> None:
    copies = {"9780745334530": 1}
    assert restocks(S.PAID, copies=copies, asked=None) is True
    assert restocks(S.FULFILLED, copies=copies, asked=None) is False
    assert restocks(S.FULFILLED, copies=copies, asked=True) is True
    with pytest.raises(InvalidInput, match="adjustment"):  # still on the shelf, whatever said
        restocks(S.PAID, copies=copies, asked=False)
    assert restocks(S.PAID, copies=None, asked=None) is False  # money only
    with pytest.raises(InvalidInput, match="Only a refund of copies"):
        restocks(S.PAID, copies={}, asked=True)


def test_the_order_after_its_refunds_tells_each_lines_copies_and_money() -> None:
    # One of the two Ragged refunded by line, and 150p more by amount (a late delivery).
    now = after_refunds(LINES, {"9781788731799": 1}, total_pence=4092, refunded_pence=899 + 150)

    imperialism, ragged = now.lines
    assert (imperialism.bought, imperialism.refunded, imperialism.kept) == (1, 0, 1)
    assert (imperialism.refunded_pence, imperialism.paid_pence) == (0, 1999)
    assert (ragged.bought, ragged.refunded, ragged.kept) == (2, 1, 1)
    assert (ragged.refunded_pence, ragged.paid_pence) == (899, 899)
    # The order's money counts the refund that named no copies too.
    assert (now.total_pence, now.refunded_pence, now.paid_pence) == (4092, 1049, 3043)


def test_an_order_never_refunded_is_as_it_was_bought() -> None:
    now = after_refunds(LINES, {}, total_pence=4092, refunded_pence=0)
    assert [(line.bought, line.refunded) for line in now.lines] == [(1, 0), (2, 0)]
    assert now.paid_pence == 4092


@pytest.mark.parametrize(
    ("status", "method", "through_stripe", "route"),
    [
        (S.PAID, PaymentMethod.STRIPE_CHECKOUT, True, RefundRoute.STRIPE),
        (S.FULFILLED, PaymentMethod.PAYMENT_LINK, True, RefundRoute.STRIPE),
        # Paid at the counter as it was collected: handed back there.
        (S.FULFILLED, PaymentMethod.ON_COLLECTION, False, RefundRoute.COUNTER),
        # A payment Stripe took is refunded through Stripe, whatever was chosen before it.
        (S.PAID, PaymentMethod.ON_COLLECTION, True, RefundRoute.STRIPE),
        # Nothing paid yet, or nothing left.
        (S.AWAITING_PAYMENT, PaymentMethod.ON_COLLECTION, False, None),
        (S.REFUNDED, PaymentMethod.ON_COLLECTION, False, None),
        (S.NEEDS_ATTENTION, PaymentMethod.STRIPE_CHECKOUT, True, None),
    ],
)
def test_a_refund_goes_back_the_way_the_money_came(
    status: OrderStatus, method: PaymentMethod, through_stripe: bool, route: RefundRoute | None
) -> None:
    assert refund_route(status, payment_method=method, paid_through_stripe=through_stripe) is route


@pytest.mark.parametrize(
    ("typed", "pence"), [("3.50", 350), ("£3.50", 350), ("3.5", 350), (" £ 12 ", 1200), ("0.05", 5)]
)
def test_an_amount_in_pounds_is_read_exactly(typed: str, pence: int) -> None:
    assert parse_pounds(typed) == pence


@pytest.mark.parametrize("typed", ["", "3.", "3.505", "-3", "three", "3,50", "1e3"])
def test_an_amount_not_in_pounds_and_pence_is_refused(typed: str) -> None:
    with pytest.raises(InvalidInput, match="in pounds and pence"):
        parse_pounds(typed)


@pytest.mark.parametrize(
    ("given", "kept"),
    [
        (" stalinism-2024 ", "stalinism-2024"),
        ("café:ü.2", "café:ü.2"),
        ("..", None),
        ("a b", None),
        ("x" * 121, None),
        ("", None),
        (None, None),
    ],
)
def test_a_buy_forms_article_is_kept_only_if_it_is_an_article_id(
    given: str | None, kept: str | None
) -> None:
    assert article_id(given) == kept

"""Prices convert exactly to pence: Decimal arithmetic, never float."""

from __future__ import annotations

import pytest

from services.catalogue.imports.prices import BadPrice, pounds_to_pence, price_to_pence


@pytest.mark.parametrize(
    ("written", "pence"),
    [
        ("1299", 1299),
        ("0", 0),
        ("12.99", 1299),
        ("£12.99", 1299),
        (" £ 12.99 ", 1299),
        ("£12", 1200),
        ("12.5", 1250),
        ("12.50", 1250),
        ("12.990", 1299),
        ("0.07", 7),
        # Binary floats get these wrong: 0.29 * 100 == 28.999999999999996, 4.35 * 100 == 434.99...
        ("0.29", 29),
        ("4.35", 435),
        ("1.15", 115),
        ("19.99", 1999),
    ],
)
def test_a_price_as_written_becomes_exact_pence(written: str, pence: int) -> None:
    assert price_to_pence(written) == pence


def test_every_penny_amount_up_to_a_thousand_pounds_converts_exactly() -> None:
    for pence in range(100_001):
        assert price_to_pence(f"{pence // 100}.{pence % 100:02d}") == pence


@pytest.mark.parametrize(
    "written",
    ["12,99", "1,299.00", "£", "twelve", "12.999", "£23.999", "-5", "-£5", "1e3", "12.", ".99", ""],
)
def test_a_price_that_is_not_an_exact_amount_is_refused(written: str) -> None:
    with pytest.raises(BadPrice, match="bad price"):
        price_to_pence(written)


def test_onix_amounts_are_always_pounds() -> None:
    assert pounds_to_pence("10") == 1000
    assert pounds_to_pence("23.99") == 2399
    assert pounds_to_pence("0.29") == 29
    with pytest.raises(BadPrice, match="whole number of pence"):
        pounds_to_pence("9.995")

import pytest

from shared.money import NotPounds, format_pence, pounds_to_pence, vat_included


@pytest.mark.parametrize(
    ("pence", "text"),
    [(0, "£0.00"), (5, "£0.05"), (1999, "£19.99"), (123456, "£1,234.56"), (-250, "-£2.50")],
)
def test_format_pence(pence: int, text: str) -> None:
    assert format_pence(pence) == text


@pytest.mark.parametrize(("gross", "vat"), [(360, 60), (295, 49), (0, 0), (1, 0), (6, 1)])
def test_vat_inside_a_vat_inclusive_price(gross: int, vat: int) -> None:
    assert vat_included(gross, 20) == vat


@pytest.mark.parametrize(
    ("typed", "pence"),
    [
        ("9.99", 999),
        ("£9.99", 999),
        ("3.5", 350),
        (" £ 12 ", 1200),
        ("0.05", 5),
        ("9999999.99", 999_999_999),
    ],
)
def test_an_amount_typed_in_pounds_is_read_exactly(typed: str, pence: int) -> None:
    assert pounds_to_pence(typed) == pence


@pytest.mark.parametrize(
    "typed", ["", "£", "3.", ".5", "3.505", "-3", "three", "3,50", "1e3", "12345678", "١٢"]
)
def test_text_not_in_pounds_and_pence_is_refused(typed: str) -> None:
    with pytest.raises(NotPounds):
        pounds_to_pence(typed)

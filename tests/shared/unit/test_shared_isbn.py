import pytest

from shared.isbn import InvalidISBN, is_isbn, to_isbn13


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("9798463348616", "9798463348616"),
        ("978-0-19-852663-6", "9780198526636"),
        ("0-19-852663-6", "9780198526636"),
        ("ISBN 0 19 852663 6", "9780198526636"),
        ("080442957X", "9780804429573"),
        (" 9780198526636 ", "9780198526636"),
    ],
)
def test_valid_input_becomes_isbn13(raw: str, expected: str) -> None:
    assert to_isbn13(raw) == expected


@pytest.mark.parametrize(
    ("raw", "hint"),
    [
        ("9780198526637", "check digit"),
        ("0198526637", "check digit"),
        ("5012345678900", "not a book"),
        ("12345", "not an ISBN"),
        ("", "not an ISBN"),
        ("97801985266X6", "not an ISBN"),
    ],
)
def test_invalid_input_is_refused_with_a_reason(raw: str, hint: str) -> None:
    with pytest.raises(InvalidISBN, match=hint):
        to_isbn13(raw)
    assert not is_isbn(raw)

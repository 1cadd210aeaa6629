"""Times are kept in UTC and shown in the shop's own time, GMT in winter and BST in summer."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from shared.shop_time import shop_time, spoken_time


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
def test_a_customer_reads_a_time_in_words_by_the_shops_clock(moment: datetime, said: str) -> None:
    assert spoken_time(moment) == said


@pytest.mark.parametrize(
    ("moment", "shown"),
    [
        (datetime(2026, 11, 27, 15, 5, tzinfo=UTC), "27 Nov 2026, 15:05"),
        (datetime(2026, 7, 3, 23, 30, tzinfo=UTC), "04 Jul 2026, 00:30"),
    ],
)
def test_staff_read_a_time_by_the_shops_clock(moment: datetime, shown: str) -> None:
    assert shop_time(moment) == shown

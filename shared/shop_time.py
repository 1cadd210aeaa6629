"""The shop's clock: times are kept in UTC and shown to people in the shop's own, UK time."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

SHOP_TIME = ZoneInfo("Europe/London")


def shop_time(moment: datetime) -> str:
    """A moment as staff read it in a list or a history: "27 Nov 2026, 15:05"."""
    return moment.astimezone(SHOP_TIME).strftime("%d %b %Y, %H:%M")


def spoken_time(moment: datetime) -> str:
    """A moment as a customer reads it in a sentence: "3:05pm on Friday 27 November"."""
    local = moment.astimezone(SHOP_TIME)
    hour = local.hour % 12 or 12
    half = "am" if local.hour < 12 else "pm"
    return f"{hour}:{local.minute:02d}{half} on {local:%A} {local.day} {local:%B}"

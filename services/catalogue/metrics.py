"""The catalogue's own gauges, refreshed when /metrics is scraped."""

from __future__ import annotations

from prometheus_client import Gauge
from sqlalchemy import func, select

from services.catalogue.models import Reservation
from services.catalogue.reservations import Status
from shared.db import Database
from shared.messaging.message import utcnow
from shared.observability.metrics import Refresher

LIVE_RESERVATIONS = Gauge("bookshop_catalogue_reservations_live", "Orders holding copies now")


def live_reservations_refresher(db: Database) -> Refresher:
    async def refresh() -> None:
        async with db.reading() as session:
            count = await session.scalar(
                select(func.count())
                .select_from(Reservation)
                .where(Reservation.status == Status.HELD, Reservation.expires_at > utcnow())
            )
        LIVE_RESERVATIONS.set(int(count or 0))

    return refresh

"""Every inter-service message, declared once, one module per owning (handling or producing) service."""

from shared.contracts.catalogue import (
    BookChanged,
    CloseSale,
    CommitReservation,
    LinePrice,
    ReleaseReservation,
    ReservationCommitted,
    ReservationReply,
    ReserveStock,
    ReturnToStock,
    ShortLine,
    StockLine,
)
from shared.contracts.checkout import Attribution, OrderLine, OrderPaid, OrderRefunded
from shared.contracts.recommendation import ArticlePublished
from shared.messaging.message import Message

ALL_MESSAGES: tuple[type[Message], ...] = (
    ReserveStock,
    CommitReservation,
    ReservationCommitted,
    ReleaseReservation,
    ReturnToStock,
    CloseSale,
    BookChanged,
    OrderPaid,
    OrderRefunded,
    ArticlePublished,
)

__all__ = [
    "ALL_MESSAGES",
    "ArticlePublished",
    "Attribution",
    "BookChanged",
    "CloseSale",
    "CommitReservation",
    "LinePrice",
    "OrderLine",
    "OrderPaid",
    "OrderRefunded",
    "ReleaseReservation",
    "ReservationCommitted",
    "ReservationReply",
    "ReserveStock",
    "ReturnToStock",
    "ShortLine",
    "StockLine",
]

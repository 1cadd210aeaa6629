"""The recommendation service's message handlers: plain async functions, no Celery in them."""

from __future__ import annotations

from services.recommendation.service import (
    RecommendationService,
    apply_book_change,
    record_paid_order,
    record_refund,
)
from shared.contracts import ArticlePublished, BookChanged, OrderPaid, OrderRefunded
from shared.messaging.unit_of_work import UnitOfWork


async def on_book_changed(message: BookChanged, *, uow: UnitOfWork) -> None:
    """Keep this service's copy of the book; every ranking process picks the change up."""
    await apply_book_change(uow.session, message)


async def on_article_published(
    message: ArticlePublished, *, uow: UnitOfWork, recommendations: RecommendationService
) -> None:
    await recommendations.publish(uow, message)


async def on_order_paid(message: OrderPaid, *, uow: UnitOfWork) -> None:
    await record_paid_order(uow.session, message)


async def on_order_refunded(message: OrderRefunded, *, uow: UnitOfWork) -> None:
    await record_refund(uow.session, message)

"""Checkout's migrations keep what it knew, on SQLite and Postgres: refunds made before refunds
kept their form's key have none, a key is taken once, and a downgrade drops it and keeps the
refunds; an order's article narrows to an article id, and text that is none credits nothing."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from uuid import uuid4

import pytest
import sqlalchemy as sa
from alembic import command
from sqlalchemy.exc import IntegrityError

from services.checkout.models import Order, Refund
from shared.migrations import alembic_config, sync_url, upgrade

pytestmark = pytest.mark.integration

MIGRATIONS = "services.checkout:migrations"
AT = datetime(2030, 4, 1, 9, 30, tzinfo=UTC)
ORDER_ID = uuid4()
# A collection order paid at the counter, refunded 100p, as the tables of revision 0004 hold it.
ORDER_ROW = {
    "id": ORDER_ID,
    "reference": "V9PDJV46",
    "channel": "phone",
    "status": "fulfilled",
    "delivery": "collection",
    "books_pence": 1299,
    "postage_pence": 0,
    "postage_vat_pence": 0,
    "total_pence": 1299,
    "refunded_pence": 100,
    "reservation_id": ORDER_ID,
    "sessions_created": 0,
    "created_at": AT,
    "updated_at": AT,
}
# The refunds table's columns that every revision since 0001 has.
REFUNDS = sa.table(
    "refunds",
    *(
        sa.column(name, Refund.__table__.c[name].type)
        for name in ("order_id", "stripe_refund_id", "amount_pence", "reason", "created_at")
    ),
)


def refund(**values: object) -> dict[str, object]:
    return {"order_id": ORDER_ID, "amount_pence": 100, "reason": "late", "created_at": AT} | values


@pytest.fixture
def engine(database_url: str) -> Iterator[sa.Engine]:
    """Connections made afresh for each step: a pooled Postgres connection would keep plans of
    the tables as they were before a migration."""
    made = sa.create_engine(sync_url(database_url), poolclass=sa.pool.NullPool)
    yield made
    made.dispose()


def test_refunds_made_before_have_no_form_key_and_a_downgrade_drops_it(
    database_url: str, engine: sa.Engine
) -> None:
    upgrade(MIGRATIONS, database_url, "0004")
    with engine.begin() as connection:
        connection.execute(sa.insert(Order.__table__).values(ORDER_ROW))
        connection.execute(sa.insert(REFUNDS).values(refund(stripe_refund_id="re_1")))

    upgrade(MIGRATIONS, database_url)

    with engine.begin() as connection:
        keys = connection.scalars(sa.select(Refund.idempotency_key)).all()
        connection.execute(sa.insert(Refund).values(refund(idempotency_key="form-1")))
    assert keys == [None]
    with pytest.raises(IntegrityError), engine.begin() as connection:
        connection.execute(sa.insert(Refund).values(refund(idempotency_key="form-1")))

    command.downgrade(alembic_config(MIGRATIONS, database_url), "0004")

    with engine.connect() as connection:
        kept = connection.scalars(sa.select(REFUNDS.c.stripe_refund_id)).all()
        columns = {column["name"] for column in sa.inspect(connection).get_columns("refunds")}
    assert sorted(kept, key=lambda stripe_id: stripe_id or "") == [None, "re_1"]
    assert "idempotency_key" not in columns
    upgrade(MIGRATIONS, database_url)


def test_an_orders_article_narrows_to_an_article_id_and_text_that_is_none_is_cleared(
    database_url: str, engine: sa.Engine
) -> None:
    upgrade(MIGRATIONS, database_url, "0006")
    script = "<script>alert(1)</script>" + "x" * 150
    with engine.begin() as connection:
        for article, reference in (
            ("a000", "V9PDJV46"),
            ("café-2024:ü", "V9PDJV47"),
            (script, "V9PDJV48"),
            ("..", "V9PDJV49"),
        ):
            connection.execute(
                sa.insert(Order.__table__).values(
                    ORDER_ROW
                    | {
                        "id": uuid4(),
                        "reference": reference,
                        "reservation_id": uuid4(),
                        "article_id": article,
                    }
                )
            )

    upgrade(MIGRATIONS, database_url)

    with engine.connect() as connection:
        kept = dict(connection.execute(sa.select(Order.reference, Order.article_id)).all())
        columns = {c["name"]: c["type"] for c in sa.inspect(connection).get_columns("orders")}
    assert kept == {
        "V9PDJV46": "a000",
        "V9PDJV47": "café-2024:ü",
        "V9PDJV48": None,
        "V9PDJV49": None,
    }
    assert columns["article_id"].length == 120

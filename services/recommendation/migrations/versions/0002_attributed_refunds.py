"""Refunds of attributed orders are rows of their own, keyed by the OrderRefunded message that
carried each, so a refund that arrives before its order's OrderPaid is kept instead of dropped;
the orders' running refunded_pence goes.

Each order's refunded_pence so far becomes one refund, under the order's own id for its message
id: the messages that carried it were not kept, and a random message id never meets an order's
(both are UUID4s). A downgrade puts each order's refunds back in refunded_pence, capped at its
total; refunds of orders whose OrderPaid has not come yet have no order to go on, and go.

Revision ID: 0002
Revises: 0001

"""

from collections.abc import Sequence

import sqlalchemy as sa
from advanced_alchemy.types import GUID, DateTimeUTC
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

attributed_orders = sa.table(
    "attributed_orders",
    sa.column("order_id", GUID),
    sa.column("total_pence", sa.Integer),
    sa.column("refunded_pence", sa.Integer),
)
attributed_refunds = sa.table(
    "attributed_refunds",
    sa.column("message_id", GUID),
    sa.column("order_id", GUID),
    sa.column("amount_pence", sa.Integer),
)


def _orders_as_0001_made_them() -> sa.Table:
    """SQLite drops a column by copying the table; read back from the file instead, the order
    id's BINARY(16) would come back NUMERIC(16), and the primary key without its name."""
    return sa.Table(
        "attributed_orders",
        sa.MetaData(),
        sa.Column("order_id", GUID(length=16), nullable=False),
        sa.Column("article_id", sa.String(length=120), nullable=False),
        sa.Column("isbn13", sa.String(length=13), nullable=True),
        sa.Column("reference", sa.String(length=100), nullable=False),
        sa.Column("lines", sa.JSON(), nullable=False),
        sa.Column("total_pence", sa.Integer(), nullable=False),
        sa.Column("refunded_pence", sa.Integer(), nullable=False),
        sa.Column("paid_at", DateTimeUTC(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("order_id", name="pk_attributed_orders"),
        sa.Index("ix_attributed_orders_article_id", "article_id"),
    )


def upgrade() -> None:
    op.create_table(
        "attributed_refunds",
        sa.Column("message_id", GUID(length=16), nullable=False),
        sa.Column("order_id", GUID(length=16), nullable=False),
        sa.Column("amount_pence", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("message_id", name=op.f("pk_attributed_refunds")),
    )
    with op.batch_alter_table("attributed_refunds", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_attributed_refunds_order_id"), ["order_id"], unique=False
        )
    op.execute(
        sa.insert(attributed_refunds).from_select(
            ["message_id", "order_id", "amount_pence"],
            sa.select(
                attributed_orders.c.order_id,
                attributed_orders.c.order_id,
                attributed_orders.c.refunded_pence,
            ).where(attributed_orders.c.refunded_pence > 0),
        )
    )
    with op.batch_alter_table(
        "attributed_orders", schema=None, copy_from=_orders_as_0001_made_them()
    ) as batch_op:
        batch_op.drop_column("refunded_pence")


def downgrade() -> None:
    with op.batch_alter_table("attributed_orders", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("refunded_pence", sa.Integer(), nullable=False, server_default="0")
        )
    refunds = (
        sa.select(sa.func.coalesce(sa.func.sum(attributed_refunds.c.amount_pence), 0))
        .where(attributed_refunds.c.order_id == attributed_orders.c.order_id)
        .scalar_subquery()
    )
    op.execute(
        sa.update(attributed_orders).values(
            refunded_pence=sa.case(
                (refunds < attributed_orders.c.total_pence, refunds),
                else_=attributed_orders.c.total_pence,
            )
        )
    )
    if op.get_bind().dialect.name == "postgresql":
        # As 0001 made it: every insert names the column. (SQLite keeps the default: dropping
        # it there means copying the table.)
        op.alter_column("attributed_orders", "refunded_pence", server_default=None)
    with op.batch_alter_table("attributed_refunds", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_attributed_refunds_order_id"))

    op.drop_table("attributed_refunds")

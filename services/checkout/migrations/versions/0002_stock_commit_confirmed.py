"""Orders remember when the catalogue confirmed it sold their copies, so checkout can send a
commit the broker lost again; indexes for the re-send sweep and for the confirmation's lookup.

Orders paid before this have no confirmation: those whose hold still runs get their commit once
more (harmless: the catalogue's commit is idempotent and confirms), the rest lie outside the
sweep's range of hold_until, so nothing is backfilled.

Revision ID: 0002
Revises: 0001

"""

from collections.abc import Sequence

import sqlalchemy as sa
from advanced_alchemy.types import DateTimeUTC
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UNCONFIRMED_COMMIT = "paid_at IS NOT NULL AND stock_committed_at IS NULL"


def upgrade() -> None:
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("stock_committed_at", DateTimeUTC(timezone=True), nullable=True)
        )
        batch_op.create_index(
            batch_op.f("ix_orders_reservation_id"), ["reservation_id"], unique=False
        )
        batch_op.create_index(
            "ix_orders_unconfirmed_commit",
            ["hold_until"],
            unique=False,
            postgresql_where=sa.text(UNCONFIRMED_COMMIT),
            sqlite_where=sa.text(UNCONFIRMED_COMMIT),
        )


def downgrade() -> None:
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.drop_index("ix_orders_unconfirmed_commit")
        batch_op.drop_index(batch_op.f("ix_orders_reservation_id"))
        batch_op.drop_column("stock_committed_at")

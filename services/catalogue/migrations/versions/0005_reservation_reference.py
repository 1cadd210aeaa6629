"""Reservations keep their order's reference (V9PDJV46, as the orders pages show it), so the
ledger's sale, hold and return entries can name the order staff know: they named the
reservation's UUID, which no page shows, and stock staff could not match a line to an order.

Nullable: holds made before this, and any asked for by a ReserveStock queued without a
reference, keep naming their UUID. Nothing is filled in for them: the catalogue never knew
their references. A downgrade drops the column; the ledger entries written meanwhile keep the
references they name.

Returns are counted on their order's lines since 0004, not found by their ledger references,
so naming them by the order's reference changes no count. Only below 0004 would the returns
written in this form be missed: that code, and 0004's upgrade, count 'order <uuid> refund'
entries.

Revision ID: 0005
Revises: 0004

"""

from collections.abc import Sequence

import sqlalchemy as sa
from advanced_alchemy.types import GUID, DateTimeUTC
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0005"
down_revision: str | Sequence[str] | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _reservations_as_0004_left_them() -> sa.Table:
    """SQLite drops a column by copying the table; read back from the file instead, the order
    id's BINARY(16) would come back NUMERIC(16), and the primary key without its name."""
    return sa.Table(
        "reservations",
        sa.MetaData(),
        sa.Column("order_id", GUID(length=16), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("expires_at", DateTimeUTC(timezone=True), nullable=True),
        sa.Column("reason", sa.String(length=200), nullable=True),
        sa.Column("created_at", DateTimeUTC(timezone=True), nullable=False),
        sa.Column("updated_at", DateTimeUTC(timezone=True), nullable=False),
        sa.Column("closed_at", DateTimeUTC(timezone=True), nullable=True),
        sa.Column("reference", sa.String(length=20), nullable=True),
        sa.PrimaryKeyConstraint("order_id", name="pk_reservations"),
        sa.Index("ix_reservations_status_expires_at", "status", "expires_at"),
        sa.Index("ix_reservations_status_closed_at", "status", "closed_at"),
    )


def upgrade() -> None:
    with op.batch_alter_table("reservations", schema=None) as batch_op:
        batch_op.add_column(sa.Column("reference", sa.String(length=20), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table(
        "reservations", schema=None, copy_from=_reservations_as_0004_left_them()
    ) as batch_op:
        batch_op.drop_column("reference")

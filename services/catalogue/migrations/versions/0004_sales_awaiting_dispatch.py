"""A paid order's copies stay on the shelf until they are posted or collected, so a stock take
must count them with the shelf: reservations remember when their sale was closed (CloseSale),
and their lines how many copies came back (ReturnToStock), which a return counted before from
its ledger references. An index on status and closed_at finds the few sales still open.

Committed reservations made before this are taken as closed when they were sold (closed_at =
updated_at): nobody recorded whether their copies left the shop, and counting them on the shelf
for ever would make every later stock take of their books wrong, which is worse than missing
the few still waiting now. Their lines' returned copies are summed from the 'returned' ledger
entries, so the cap on later returns holds. A downgrade drops both columns: the ledger still
has the returns the older code counts.

Revision ID: 0004
Revises: 0003

"""

import re
from collections import Counter
from collections.abc import Sequence
from uuid import UUID

import sqlalchemy as sa
from advanced_alchemy.types import GUID, DateTimeUTC
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0004"
down_revision: str | Sequence[str] | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# How returns.py names a return in the ledger: f"order {order_id} refund {refund_id}".
RETURN_REFERENCE = re.compile(r"order ([0-9a-f-]{36}) refund ")

reservations = sa.table(
    "reservations",
    sa.column("status", sa.String),
    sa.column("updated_at", DateTimeUTC),
    sa.column("closed_at", DateTimeUTC),
)
reservation_lines = sa.table(
    "reservation_lines",
    sa.column("order_id", GUID),
    sa.column("isbn13", sa.String),
    sa.column("returned", sa.Integer),
)
stock_ledger = sa.table(
    "stock_ledger",
    sa.column("isbn13", sa.String),
    sa.column("kind", sa.String),
    sa.column("on_hand_change", sa.Integer),
    sa.column("reference", sa.String),
)


def _count_returns() -> None:
    bind = op.get_bind()
    returned: Counter[tuple[UUID, str]] = Counter()
    for isbn13, copies, reference in bind.execute(
        sa.select(
            stock_ledger.c.isbn13, stock_ledger.c.on_hand_change, stock_ledger.c.reference
        ).where(stock_ledger.c.kind == "returned")
    ):
        named = RETURN_REFERENCE.match(reference or "")
        if named is not None:
            returned[UUID(named.group(1)), isbn13] += copies
    if returned:
        bind.execute(
            sa.update(reservation_lines)
            .where(
                reservation_lines.c.order_id == sa.bindparam("order"),
                reservation_lines.c.isbn13 == sa.bindparam("book"),
            )
            .values(returned=sa.bindparam("copies")),
            [
                {"order": order_id, "book": isbn13, "copies": copies}
                for (order_id, isbn13), copies in returned.items()
            ],
        )


def _reservations_as_0001_made_them() -> sa.Table:
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
        sa.PrimaryKeyConstraint("order_id", name="pk_reservations"),
        sa.Index("ix_reservations_status_expires_at", "status", "expires_at"),
    )


def _lines_as_0001_made_them() -> sa.Table:
    """As for the reservations, and its check and foreign keys by their names."""
    return sa.Table(
        "reservation_lines",
        sa.MetaData(),
        sa.Column("order_id", GUID(length=16), nullable=False),
        sa.Column("isbn13", sa.String(length=13), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("returned", sa.Integer(), nullable=False, server_default="0"),
        sa.CheckConstraint("quantity > 0", name="ck_reservation_lines_quantity_positive"),
        sa.ForeignKeyConstraint(
            ["isbn13"], ["books.isbn13"], name="fk_reservation_lines_isbn13_books"
        ),
        sa.ForeignKeyConstraint(
            ["order_id"],
            ["reservations.order_id"],
            name="fk_reservation_lines_order_id_reservations",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("order_id", "isbn13", name="pk_reservation_lines"),
    )


def upgrade() -> None:
    with op.batch_alter_table("reservations", schema=None) as batch_op:
        batch_op.add_column(sa.Column("closed_at", DateTimeUTC(timezone=True), nullable=True))
    op.execute(
        sa.update(reservations)
        .where(reservations.c.status == "committed")
        .values(closed_at=reservations.c.updated_at)
    )
    with op.batch_alter_table("reservations", schema=None) as batch_op:
        batch_op.create_index(
            "ix_reservations_status_closed_at", ["status", "closed_at"], unique=False
        )
    with op.batch_alter_table("reservation_lines", schema=None) as batch_op:
        batch_op.add_column(sa.Column("returned", sa.Integer(), nullable=False, server_default="0"))
    _count_returns()


def downgrade() -> None:
    with op.batch_alter_table(
        "reservation_lines", schema=None, copy_from=_lines_as_0001_made_them()
    ) as batch_op:
        batch_op.drop_column("returned")
    with op.batch_alter_table("reservations", schema=None) as batch_op:
        batch_op.drop_index("ix_reservations_status_closed_at")
    with op.batch_alter_table(
        "reservations", schema=None, copy_from=_reservations_as_0001_made_them()
    ) as batch_op:
        batch_op.drop_column("closed_at")

"""Refunds by line remember the copies they paid back, so a copy is refunded only once.

Refunds made before this named no copies anywhere (only their amount was kept), so nothing is
backfilled: those orders' lines count as not refunded by line, and the order's money cap
(refunded_pence against total_pence) still stops them being refunded beyond what was paid.

Revision ID: 0003
Revises: 0002

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "refund_lines",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("refund_id", sa.Integer(), nullable=False),
        sa.Column("isbn13", sa.String(length=13), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["refund_id"], ["refunds.id"], name=op.f("fk_refund_lines_refund_id_refunds")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_refund_lines")),
        sa.UniqueConstraint("refund_id", "isbn13", name=op.f("uq_refund_lines_refund_id")),
    )
    with op.batch_alter_table("refund_lines", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_refund_lines_refund_id"), ["refund_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("refund_lines", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_refund_lines_refund_id"))

    op.drop_table("refund_lines")

"""The copies each refund paid back, per book, under the refund's message: the report's copies
sold are net of them. A downgrade forgets them, and copies sold count refunded ones again.

Revision ID: 0003
Revises: 0002

"""

from collections.abc import Sequence

import sqlalchemy as sa
from advanced_alchemy.types import GUID
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "refunded_copies",
        sa.Column("message_id", GUID(length=16), nullable=False),
        sa.Column("isbn13", sa.String(length=13), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["message_id"],
            ["attributed_refunds.message_id"],
            name=op.f("fk_refunded_copies_message_id_attributed_refunds"),
        ),
        sa.PrimaryKeyConstraint("message_id", "isbn13", name=op.f("pk_refunded_copies")),
    )


def downgrade() -> None:
    op.drop_table("refunded_copies")

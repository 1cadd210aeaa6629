"""An order's article is an article id by the rule every service reads (at most 120
characters of letters, digits and "_.-:", not dots alone): the column narrows to it. Orders
placed before checkout read the rule kept whatever text their Buy form carried; such text
credits no article (recommendation could not match it to one), so it is cleared first.

Revision ID: 0007
Revises: 0006

"""

import re
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0007"
down_revision: str | Sequence[str] | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# the rule as it stood at this revision: a migration keeps what it did when it was written
_ARTICLE_ID = re.compile(r"(?!\.+\Z)[\w.\-:]{1,120}")
_ORDERS = sa.table("orders", sa.column("article_id", sa.String()))


def upgrade() -> None:
    connection = op.get_bind()
    given = connection.scalars(
        sa.select(_ORDERS.c.article_id).distinct().where(_ORDERS.c.article_id.is_not(None))
    ).all()
    dropped = [text for text in given if not _ARTICLE_ID.fullmatch(text)]
    if dropped:
        connection.execute(
            sa.update(_ORDERS).where(_ORDERS.c.article_id.in_(dropped)).values(article_id=None)
        )
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.alter_column(
            "article_id", existing_type=sa.String(200), type_=sa.String(120), existing_nullable=True
        )


def downgrade() -> None:
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.alter_column(
            "article_id", existing_type=sa.String(120), type_=sa.String(200), existing_nullable=True
        )

"""The recommendation service's tables: its copy of the books, the index state, articles, their
cached books, editors' pins and bans, clicks, attributed orders, outbox and inbox.

Revision ID: 0001
Revises:

"""

from collections.abc import Sequence

import sqlalchemy as sa
from advanced_alchemy.types import GUID, DateTimeUTC
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table(
        "articles",
        sa.Column("id", sa.String(length=120), nullable=False),
        sa.Column("headline", sa.String(length=500), nullable=False),
        sa.Column("published", sa.Date(), nullable=True),
        sa.Column("source_url", sa.String(length=2000), nullable=True),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("created_at", DateTimeUTC(timezone=True), nullable=False),
        sa.Column("updated_at", DateTimeUTC(timezone=True), nullable=False),
        sa.Column("cached_version", sa.Integer(), nullable=True),
        sa.Column("cached_generation", sa.Integer(), nullable=True),
        sa.Column("cached_k", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_articles")),
    )
    with op.batch_alter_table("articles", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_articles_updated_at"), ["updated_at"], unique=False)

    op.create_table(
        "attributed_orders",
        sa.Column("order_id", GUID(length=16), nullable=False),
        sa.Column("article_id", sa.String(length=120), nullable=False),
        sa.Column("isbn13", sa.String(length=13), nullable=True),
        sa.Column("reference", sa.String(length=100), nullable=False),
        sa.Column("lines", sa.JSON(), nullable=False),
        sa.Column("total_pence", sa.Integer(), nullable=False),
        sa.Column("refunded_pence", sa.Integer(), nullable=False),
        sa.Column("paid_at", DateTimeUTC(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("order_id", name=op.f("pk_attributed_orders")),
    )
    with op.batch_alter_table("attributed_orders", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_attributed_orders_article_id"), ["article_id"], unique=False
        )

    op.create_table(
        "books",
        sa.Column("isbn13", sa.String(length=13), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=500), nullable=False),
        sa.Column("subtitle", sa.String(length=500), nullable=True),
        sa.Column("authors", sa.JSON(), nullable=False),
        sa.Column("publisher", sa.String(length=200), nullable=True),
        sa.Column("year", sa.Integer(), nullable=True),
        sa.Column("format", sa.String(length=40), nullable=True),
        sa.Column("price_pence", sa.Integer(), nullable=False),
        sa.Column("subjects", sa.JSON(), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("available", sa.Integer(), nullable=False),
        sa.Column("withdrawn", sa.Boolean(), nullable=False),
        sa.Column("index_version", sa.Integer(), nullable=False),
        sa.Column("updated_at", DateTimeUTC(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("isbn13", name=op.f("pk_books")),
    )
    with op.batch_alter_table("books", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_books_index_version"), ["index_version"], unique=False)

    op.create_table(
        "clicks",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("article_id", sa.String(length=120), nullable=False),
        sa.Column("isbn13", sa.String(length=13), nullable=False),
        sa.Column("at", DateTimeUTC(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_clicks")),
    )
    with op.batch_alter_table("clicks", schema=None) as batch_op:
        batch_op.create_index("ix_clicks_article_isbn", ["article_id", "isbn13"], unique=False)

    op.create_table(
        "inbox",
        sa.Column("message_id", GUID(length=16), nullable=False),
        sa.Column("handler", sa.String(length=200), nullable=False),
        sa.Column("handled_at", DateTimeUTC(timezone=True), nullable=False),
        sa.Column("result", sa.JSON(), nullable=True),
        sa.PrimaryKeyConstraint("message_id", "handler", name=op.f("pk_inbox")),
    )
    op.create_table(
        "index_state",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("generation", sa.Integer(), nullable=False),
        sa.CheckConstraint("id = 1", name=op.f("ck_index_state_single_row")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_index_state")),
    )
    index_state = sa.table(
        "index_state",
        sa.column("id", sa.Integer),
        sa.column("version", sa.Integer),
        sa.column("generation", sa.Integer),
    )
    op.bulk_insert(index_state, [{"id": 1, "version": 0, "generation": 0}])
    op.create_table(
        "outbox",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("message_id", GUID(length=16), nullable=False),
        sa.Column("kind", sa.String(length=200), nullable=False),
        sa.Column("deliveries", sa.JSON(), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("created_at", DateTimeUTC(timezone=True), nullable=False),
        sa.Column("published_at", DateTimeUTC(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox")),
        sa.UniqueConstraint("message_id", name=op.f("uq_outbox_message_id")),
    )
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_outbox_published_at"), ["published_at"], unique=False)

    op.create_table(
        "article_books",
        sa.Column("article_id", sa.String(length=120), nullable=False),
        sa.Column("rank", sa.Integer(), nullable=False),
        sa.Column("isbn13", sa.String(length=13), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["article_id"],
            ["articles.id"],
            name=op.f("fk_article_books_article_id_articles"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("article_id", "rank", name=op.f("pk_article_books")),
    )
    op.create_table(
        "editor_rules",
        sa.Column("article_id", sa.String(length=120), nullable=False),
        sa.Column("isbn13", sa.String(length=13), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("created_at", DateTimeUTC(timezone=True), nullable=False),
        sa.CheckConstraint("kind IN ('pin', 'ban')", name=op.f("ck_editor_rules_kind_known")),
        sa.ForeignKeyConstraint(
            ["article_id"],
            ["articles.id"],
            name=op.f("fk_editor_rules_article_id_articles"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("article_id", "isbn13", name=op.f("pk_editor_rules")),
    )


def downgrade() -> None:
    """Downgrade schema."""
    op.drop_table("editor_rules")
    op.drop_table("article_books")
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_outbox_published_at"))

    op.drop_table("outbox")
    op.drop_table("index_state")
    op.drop_table("inbox")
    with op.batch_alter_table("clicks", schema=None) as batch_op:
        batch_op.drop_index("ix_clicks_article_isbn")

    op.drop_table("clicks")
    with op.batch_alter_table("books", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_books_index_version"))

    op.drop_table("books")
    with op.batch_alter_table("attributed_orders", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_attributed_orders_article_id"))

    op.drop_table("attributed_orders")
    with op.batch_alter_table("articles", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_articles_updated_at"))

    op.drop_table("articles")

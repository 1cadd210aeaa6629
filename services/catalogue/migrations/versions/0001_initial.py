"""The catalogue's tables: books, stock, reservations, the stock ledger, search terms, outbox and inbox.

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
        "books",
        sa.Column("isbn13", sa.String(length=13), nullable=False),
        sa.Column("title", sa.String(length=500), nullable=False),
        sa.Column("subtitle", sa.String(length=500), nullable=True),
        sa.Column("authors", sa.JSON(), nullable=False),
        sa.Column("publisher", sa.String(length=200), nullable=True),
        sa.Column("year", sa.Integer(), nullable=True),
        sa.Column("format", sa.String(length=40), nullable=True),
        sa.Column("price_pence", sa.Integer(), nullable=False),
        sa.Column("subjects", sa.JSON(), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("cover_url", sa.String(length=1000), nullable=True),
        sa.Column("reorder_point", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", DateTimeUTC(timezone=True), nullable=False),
        sa.Column("updated_at", DateTimeUTC(timezone=True), nullable=False),
        sa.CheckConstraint("price_pence >= 0", name=op.f("ck_books_price_not_negative")),
        sa.CheckConstraint("reorder_point >= 0", name=op.f("ck_books_reorder_point_not_negative")),
        sa.PrimaryKeyConstraint("isbn13", name=op.f("pk_books")),
    )
    op.create_table(
        "inbox",
        sa.Column("message_id", GUID(length=16), nullable=False),
        sa.Column("handler", sa.String(length=200), nullable=False),
        sa.Column("handled_at", DateTimeUTC(timezone=True), nullable=False),
        sa.Column("result", sa.JSON(), nullable=True),
        sa.PrimaryKeyConstraint("message_id", "handler", name=op.f("pk_inbox")),
    )
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
    op.create_index(op.f("ix_outbox_published_at"), "outbox", ["published_at"], unique=False)

    op.create_table(
        "reservations",
        sa.Column("order_id", GUID(length=16), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("expires_at", DateTimeUTC(timezone=True), nullable=True),
        sa.Column("reason", sa.String(length=200), nullable=True),
        sa.Column("created_at", DateTimeUTC(timezone=True), nullable=False),
        sa.Column("updated_at", DateTimeUTC(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("order_id", name=op.f("pk_reservations")),
    )
    op.create_index(
        "ix_reservations_status_expires_at", "reservations", ["status", "expires_at"], unique=False
    )

    op.create_table(
        "reservation_lines",
        sa.Column("order_id", GUID(length=16), nullable=False),
        sa.Column("isbn13", sa.String(length=13), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.CheckConstraint("quantity > 0", name=op.f("ck_reservation_lines_quantity_positive")),
        sa.ForeignKeyConstraint(
            ["isbn13"], ["books.isbn13"], name=op.f("fk_reservation_lines_isbn13_books")
        ),
        sa.ForeignKeyConstraint(
            ["order_id"],
            ["reservations.order_id"],
            name=op.f("fk_reservation_lines_order_id_reservations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("order_id", "isbn13", name=op.f("pk_reservation_lines")),
    )
    op.create_table(
        "search_terms",
        sa.Column("isbn13", sa.String(length=13), nullable=False),
        sa.Column("kind", sa.SmallInteger(), nullable=False),
        sa.Column(
            "term",
            sa.String(length=200).with_variant(sa.String(length=200, collation="C"), "postgresql"),
            nullable=False,
        ),
        sa.Column("out_of_stock", sa.SmallInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["isbn13"],
            ["books.isbn13"],
            name=op.f("fk_search_terms_isbn13_books"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("isbn13", "kind", "term", name=op.f("pk_search_terms")),
        sqlite_with_rowid=False,
    )
    op.create_index(
        "ix_search_terms_lookup",
        "search_terms",
        ["kind", "out_of_stock", "term"],
        unique=False,
        postgresql_include=["isbn13"],
    )

    op.create_table(
        "stock",
        sa.Column("isbn13", sa.String(length=13), nullable=False),
        sa.Column("on_hand", sa.Integer(), nullable=False),
        sa.Column("reserved", sa.Integer(), nullable=False),
        sa.CheckConstraint("on_hand >= reserved", name=op.f("ck_stock_held_copies_on_hand")),
        sa.CheckConstraint("reserved >= 0", name=op.f("ck_stock_reserved_not_negative")),
        sa.ForeignKeyConstraint(
            ["isbn13"], ["books.isbn13"], name=op.f("fk_stock_isbn13_books"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("isbn13", name=op.f("pk_stock")),
    )
    op.create_table(
        "stock_ledger",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("batch_id", GUID(length=16), nullable=False),
        sa.Column("isbn13", sa.String(length=13), nullable=False),
        sa.Column("kind", sa.String(length=30), nullable=False),
        sa.Column("on_hand_change", sa.Integer(), nullable=False),
        sa.Column("reserved_change", sa.Integer(), nullable=False),
        sa.Column("on_hand_after", sa.Integer(), nullable=False),
        sa.Column("reserved_after", sa.Integer(), nullable=False),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("reference", sa.String(length=200), nullable=True),
        sa.Column("created_at", DateTimeUTC(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["isbn13"], ["books.isbn13"], name=op.f("fk_stock_ledger_isbn13_books")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_stock_ledger")),
    )
    op.create_index(op.f("ix_stock_ledger_batch_id"), "stock_ledger", ["batch_id"], unique=False)
    op.create_index("ix_stock_ledger_isbn13_id", "stock_ledger", ["isbn13", "id"], unique=False)


def downgrade() -> None:
    """Downgrade schema."""
    op.drop_index("ix_stock_ledger_isbn13_id", table_name="stock_ledger")
    op.drop_index(op.f("ix_stock_ledger_batch_id"), table_name="stock_ledger")

    op.drop_table("stock_ledger")
    op.drop_table("stock")
    op.drop_index(
        "ix_search_terms_lookup", table_name="search_terms", postgresql_include=["isbn13"]
    )

    op.drop_table("search_terms")
    op.drop_table("reservation_lines")
    op.drop_index("ix_reservations_status_expires_at", table_name="reservations")

    op.drop_table("reservations")
    op.drop_index(op.f("ix_outbox_published_at"), table_name="outbox")

    op.drop_table("outbox")
    op.drop_table("inbox")
    op.drop_table("books")

"""Search terms carry their book's words mask, in the lookup index, so a several-word search
filters most candidates without probing their terms.

Revision ID: 0003
Revises: 0002

"""

from collections import defaultdict
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from services.catalogue.domain import TermKind, words_mask

# revision identifiers, used by Alembic.
revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BOOKS_PER_BATCH = 5000

books = sa.table("books", sa.column("isbn13", sa.String))
search_terms = sa.table(
    "search_terms",
    sa.column("isbn13", sa.String),
    sa.column("kind", sa.SmallInteger),
    sa.column("term", sa.String),
    sa.column("words_mask", sa.BigInteger),
)


def _fill_masks() -> None:
    """Each book's mask from its word terms, a batch of books at a time (keyset on isbn13)."""
    bind = op.get_bind()
    set_mask = (
        sa.update(search_terms)
        .where(search_terms.c.isbn13 == sa.bindparam("book"))
        .values(words_mask=sa.bindparam("mask"))
    )
    last = ""
    while isbns := list(
        bind.scalars(
            sa.select(books.c.isbn13)
            .where(books.c.isbn13 > last)
            .order_by(books.c.isbn13)
            .limit(BOOKS_PER_BATCH)
        )
    ):
        words: dict[str, list[str]] = defaultdict(list)
        for isbn13, term in bind.execute(
            sa.select(search_terms.c.isbn13, search_terms.c.term).where(
                search_terms.c.kind == int(TermKind.WORD),
                search_terms.c.isbn13.between(isbns[0], isbns[-1]),
            )
        ):
            words[isbn13].append(term)
        bind.execute(
            set_mask,
            [{"book": isbn13, "mask": words_mask(terms)} for isbn13, terms in words.items()],
        )
        last = isbns[-1]


def upgrade() -> None:
    # Dropped while the masks are written (an index of 10 rows a book slows every update), and
    # made again with the mask as its last key column.
    op.drop_index(
        "ix_search_terms_lookup", table_name="search_terms", postgresql_include=["isbn13"]
    )
    op.add_column(
        "search_terms",
        sa.Column("words_mask", sa.BigInteger(), nullable=False, server_default="0"),
    )
    _fill_masks()
    if op.get_bind().dialect.name == "postgresql":
        # A default mask of 0 would hide a book from several-word searches: every insert names
        # the mask. (SQLite keeps the default: dropping it there means copying the table.)
        op.alter_column("search_terms", "words_mask", server_default=None)
    op.create_index(
        "ix_search_terms_lookup",
        "search_terms",
        ["kind", "out_of_stock", "term", "words_mask"],
        unique=False,
        postgresql_include=["isbn13"],
    )


def downgrade() -> None:
    op.drop_index(
        "ix_search_terms_lookup", table_name="search_terms", postgresql_include=["isbn13"]
    )
    op.drop_column("search_terms", "words_mask")
    op.create_index(
        "ix_search_terms_lookup",
        "search_terms",
        ["kind", "out_of_stock", "term"],
        unique=False,
        postgresql_include=["isbn13"],
    )

"""The catalogue: books, stock and its ledger, reservations for orders, search and the book pages."""

"""The catalogue's Litestar controllers: the staff JSON API, the public pages, health."""

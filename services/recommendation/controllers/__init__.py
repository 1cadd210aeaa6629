"""The recommendation service's Litestar controllers: the JSON API, the public links and snippet, health."""

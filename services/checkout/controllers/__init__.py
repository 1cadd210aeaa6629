"""Checkout's Litestar controllers: reader pages, the Stripe webhook, the staff JSON API, health."""

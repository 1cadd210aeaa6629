"""Checkout: web and phone orders, paid through Stripe, with their emails, refunds and fulfilment."""

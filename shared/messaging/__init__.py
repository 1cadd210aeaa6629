"""How the services talk: message base classes, the Celery factory, publisher, outbox, inbox, consumers."""

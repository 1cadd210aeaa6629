from alembic import context

from services.checkout.models import Base
from shared.migrations import run_migrations

run_migrations(context, Base.metadata)

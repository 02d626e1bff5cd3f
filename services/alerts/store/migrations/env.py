"""Alembic environment: always handed an open connection by ``services.alerts.store.migrate``,
which holds the write lock for the whole upgrade (so two starting services never race)."""

from alembic import context

from services.alerts.store.tables import Base

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    transactional_ddl=True,
    render_as_batch=True,  # SQLite alters a table by copying it
)
with context.begin_transaction():
    context.run_migrations()

"""Alembic migrations of the alert store (run by ``services.alerts.store.migrate``)."""

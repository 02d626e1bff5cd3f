"""``upgrade head`` for the alert store, run by every process that opens it.

The upgrade runs in one transaction holding the database's write lock (``BEGIN IMMEDIATE``
on SQLite, an advisory lock on PostgreSQL), so a service and a CLI starting together queue
instead of both creating tables. A database made by the store before migrations existed
(its tables, no ``alembic_version``) is stamped at revision 0001 and upgraded from there.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from sqlalchemy import Connection, Engine, inspect, text

from services.alerts.store.engine import WRITE

if TYPE_CHECKING:
    from alembic.config import Config

SCRIPT_LOCATION = "services.alerts.store:migrations"
PRE_MIGRATION_REVISION = "0001"
PG_LOCK_KEY = 0x6361_7365  # "case": any constant shared by every casewatch process

# Alembic announces each of its plugins at INFO when it is imported (hence the imports in the
# functions below); the upgrades themselves are still logged.
logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)


def upgrade_to_head(engine: Engine) -> None:
    from alembic import command

    with engine.execution_options(**WRITE).begin() as connection:
        if connection.dialect.name == "postgresql":
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": PG_LOCK_KEY})
        config = _config(connection)
        if _made_before_migrations(connection):
            command.stamp(config, PRE_MIGRATION_REVISION)
        command.upgrade(config, "head")


def upgrade_to(engine: Engine, revision: str) -> None:
    """Upgrade to one revision only (tests of the migrations themselves)."""
    from alembic import command

    with engine.execution_options(**WRITE).begin() as connection:
        command.upgrade(_config(connection), revision)


def _config(connection: Connection) -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", SCRIPT_LOCATION)
    config.attributes["connection"] = connection
    return config


def _made_before_migrations(connection: Connection) -> bool:
    tables = set(inspect(connection).get_table_names())
    return "alerts" in tables and "alembic_version" not in tables

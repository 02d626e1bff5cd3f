"""Typed configuration, read once at start from ``CASEWATCH_*`` variables and passed down."""

from __future__ import annotations

import logging
from datetime import date
from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from services.journeys.domain.pack import DEFAULT_PACK, RulePack, load_pack
from services.runtime.roster import OPEN_ROSTER_WARNING, Roster, load_roster

DEV_PERSON_KEY_SECRET = "casewatch-dev-secret-not-for-production"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CASEWATCH_", extra="ignore")

    kafka_bootstrap: str = Field(default="127.0.0.1:9092", description="host:port[,host:port]")
    partitions: int = Field(default=4, ge=1, description="partitions of every casewatch topic")
    topic_events: str = "casewatch.events"
    topic_flags: str = "casewatch.flags"
    topic_dlq: str = "casewatch.events.dlq"
    topic_clock: str = "casewatch.clock"
    topic_journeys: str = "casewatch.journeys"

    data_dir: Path = Field(default=Path("var"), description="worker state, SQLite, outbox")
    worker_store: str = Field(default="rocksdb://", description="faust table store URL")
    worker_timer_seconds: float = Field(
        default=60.0, gt=0, description="full clock sweep of every journey, at most this apart"
    )
    worker_tick_seconds: float = Field(
        default=1.0, gt=0, description="how often changed journeys are evaluated"
    )
    worker_settle_seconds: float = Field(
        default=0.3, ge=0, description="quiet time after a child's last event before evaluating"
    )
    worker_settle_bulk_seconds: float = Field(
        default=1.0,
        ge=0,
        description="the same while a partition is taking a bulk load (an export's ingest)",
    )
    worker_bulk_changes: int = Field(
        default=500,
        ge=1,
        description="journeys changed in a second that make a partition's load bulk",
    )
    worker_web_port: int = Field(default=6066, description="faust web / metrics port")
    worker_metrics_host: str = Field(
        default="127.0.0.1", description="metrics bind address (0.0.0.0 in containers)"
    )
    # Tansu and tests want short group timeouts; deployments keep Kafka-appropriate ones.
    short_timeouts: bool = False

    rule_pack: Path | None = Field(
        default=None, description="a council's rule pack YAML; default: the shipped pack"
    )
    clock_date: date | None = Field(
        default=None, description="fix the monitor's clock (tests, demos); default is today"
    )

    roster_file: Path | None = Field(
        default=None,
        description="the caseworkers and teams (CSV: id,team,role); default: an open roster",
    )

    alerts_db_url: str = Field(default="", description="SQLAlchemy URL; default SQLite in data_dir")
    alerts_host: str = "127.0.0.1"
    alerts_port: int = 8080

    person_key_secret: SecretStr = SecretStr(DEV_PERSON_KEY_SECRET)
    log_level: str = "INFO"

    def load_rule_pack(self) -> RulePack:
        return load_pack(self.rule_pack) if self.rule_pack else DEFAULT_PACK

    def load_roster(self) -> Roster:
        """The roster file's people and teams; without one, an open roster (any well-formed
        identifier). Raises ``RosterInvalid`` for a file that breaks a rule."""
        if self.roster_file:
            return load_roster(self.roster_file)
        logging.getLogger(__name__).warning(OPEN_ROSTER_WARNING)
        return Roster.open()

    def alerts_database_url(self) -> str:
        return self.alerts_db_url or f"sqlite:///{(self.data_dir / 'alerts.db').resolve()}"

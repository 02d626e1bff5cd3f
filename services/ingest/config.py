"""Ingest's own configuration, from ``CASEWATCH_INGEST_*`` variables (read once, passed down).

Kept beside the service, as the alerts service keeps its own: only ingest reads these.
Token scopes are JSON, e.g. ``CASEWATCH_INGEST_TOKEN_SECRET=…`` and tokens minted with
``casewatch ingest-token``.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from services.ingest.dates import BIRTH_FROM, FACTS_FROM, SCHEDULED_YEARS, DateRanges
from services.runtime.settings import Settings


class IngestSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CASEWATCH_INGEST_", extra="ignore")

    state_path: Path | None = Field(
        default=None, description="snapshot and identity-link state; default data_dir/ingest/"
    )
    future_tolerance_days: int = Field(
        default=0, ge=0, description="days after the extract date a date may fall (R-DATA-FUTURE)"
    )
    birth_not_before: date = Field(
        default=BIRTH_FROM, description="the earliest date of birth accepted (R-DATA-RANGE)"
    )
    facts_not_before: date = Field(
        default=FACTS_FROM, description="the earliest date of any other fact (R-DATA-RANGE)"
    )
    scheduled_years_ahead: int = Field(
        default=SCHEDULED_YEARS,
        ge=0,
        le=50,
        description="how far past the extract date a scheduled date may be (R-DATA-RANGE)",
    )
    host: str = "127.0.0.1"
    port: int = 8090
    token_secret: SecretStr = Field(
        default=SecretStr(""), description="HS256 secret of integrator tokens; empty: no API"
    )
    token_audience: str = "casewatch-ingest"
    max_batch: int = Field(default=5000, ge=1, description="events in one POST")
    max_body_bytes: int = Field(
        default=4 * 1024 * 1024, ge=1024, description="request body; larger is refused unread"
    )

    def date_ranges(self) -> DateRanges:
        return DateRanges(self.birth_not_before, self.facts_not_before, self.scheduled_years_ahead)

    def state_file(self, settings: Settings) -> Path:
        return self.state_path or settings.data_dir / "ingest" / "state.sqlite"

"""The alerts service's own configuration, from ``CASEWATCH_ALERTS_*`` variables.

Kept beside the service rather than in the shared ``Settings``: only the alerts service
(and the CLI commands that act for it) read these. Mappings are JSON, e.g.
``CASEWATCH_ALERTS_TEAM_MANAGERS='{"north": "mgr-north"}'``.
"""

from __future__ import annotations

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from services.alerts.domain.escalation import EscalationPolicy
from services.runtime.roster import IDENTIFIER_RULE, Roster, well_formed
from services.runtime.settings import Settings


class AlertSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CASEWATCH_ALERTS_", extra="ignore")

    public_url: str = Field(default="", description="the inbox's address in notifications")

    escalate_after: dict[str, int] = Field(
        default={"breach": 2, "warning": 5, "advisory": 10},
        description="working days an alert may stay unacknowledged, per severity",
    )
    team_managers: dict[str, str] = Field(default={}, description="team → manager's subject")
    sweep_seconds: float = Field(default=60.0, gt=0, description="escalation and snooze check")
    max_snooze_days: int = Field(default=90, ge=1)

    auth_issuer: str = "casewatch-embedded"
    auth_audience: str = "casewatch-alerts"
    auth_jwks_url: str = Field(default="", description="the council IdP's keys; empty: local key")
    auth_algorithms: list[str] = ["RS256", "ES256", "PS256"]
    auth_roles_claim: str = "roles"
    auth_team_claim: str = "team"
    csrf_secret: SecretStr | None = Field(
        default=None, description="shared by every replica; default: a key file in data_dir"
    )

    smtp_host: str = Field(default="", description="empty: digests go to the outbox folder")
    smtp_port: int = 25
    smtp_starttls: bool = False
    smtp_username: str = ""
    smtp_password: SecretStr = SecretStr("")
    mail_from: str = "casewatch@localhost"
    email_addresses: dict[str, str] = Field(default={}, description="subject → email address")
    email_domain: str = Field(default="", description="else subject@domain")

    webhook_url: str = Field(default="", description="Teams/Slack incoming webhook")
    webhook_attempts: int = Field(default=4, ge=1)
    webhook_backoff_seconds: float = Field(default=1.0, ge=0)

    @field_validator("team_managers")
    @classmethod
    def _roster_ids(cls, value: dict[str, str]) -> dict[str, str]:
        for team, manager in value.items():
            if not (well_formed(team) and well_formed(manager)):
                raise ValueError(f"teams and managers are roster ids: {IDENTIFIER_RULE}")
        return value

    @field_validator("email_addresses")
    @classmethod
    def _one_line(cls, value: dict[str, str]) -> dict[str, str]:
        for address in value.values():
            if not address or any(c.isspace() or ord(c) < 32 for c in address):
                raise ValueError("an email address is one line with no spaces")
        return value

    @property
    def local_keys(self) -> bool:
        """Tokens are signed by this installation's own key (the embedded default)."""
        return not self.auth_jwks_url

    def managers(self, roster: Roster) -> dict[str, str]:
        """team → manager: the roster's manager rows, then ``team_managers`` over them."""
        return {**roster.managers(), **self.team_managers}

    def escalation(self, roster: Roster | None = None) -> EscalationPolicy:
        managers = self.managers(roster) if roster is not None else self.team_managers
        return EscalationPolicy(self.escalate_after, managers)

    def inbox_url(self, settings: Settings) -> str:
        return (self.public_url or f"http://{settings.alerts_host}:{settings.alerts_port}").rstrip(
            "/"
        )

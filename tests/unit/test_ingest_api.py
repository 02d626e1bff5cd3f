"""The HTTP ingest API: tokens scoped per source system, field-level 4xx, contracts served."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import yaml
from fastapi.testclient import TestClient
from pydantic import SecretStr

from schemas.events import Event
from services.ingest.api.app import create_app
from services.ingest.api.tokens import mint_token
from services.ingest.config import IngestSettings
from services.ingest.identity import person_key
from services.ingest.publisher import PublishReport
from services.runtime.settings import DEV_PERSON_KEY_SECRET, Settings

TOKEN_SECRET = "a-test-secret-of-at-least-32-characters!"
AUDIENCE = "casewatch-ingest"
REFERRAL = {
    "record_key": "referrals:HR1",
    "person": {"nhs": "9990000001"},
    "payload": {
        "type": "referral.received",
        "referral_id": "HR1",
        "service": "autism",
        "received_on": "2025-01-10",
    },
}


@pytest.fixture
def sent() -> list[Event]:
    return []


@pytest.fixture
def client(tmp_path: Path, sent: list[Event]) -> TestClient:
    def publish(events: Sequence[Event]) -> PublishReport:
        sent.extend(events)
        return PublishReport(len(events), 0)

    config = IngestSettings(
        state_path=tmp_path / "state.sqlite", token_secret=SecretStr(TOKEN_SECRET), max_batch=3
    )
    return TestClient(create_app(Settings(data_dir=tmp_path), config, publish=publish))


def token(*sources: str, ttl: timedelta = timedelta(hours=1)) -> dict[str, str]:
    minted = mint_token(
        TOKEN_SECRET, subject="health-etl", sources=sources, audience=AUDIENCE, ttl=ttl
    )
    return {"Authorization": f"Bearer {minted}"}


def test_one_event_is_keyed_and_published(client: TestClient, sent: list[Event]) -> None:
    response = client.post("/v1/sources/health/events", json=REFERRAL, headers=token("health"))
    assert response.status_code == 202, response.text
    (event,) = sent
    assert response.json() == {"published": 1, "event_ids": [event.event_id]}
    assert event.person_key == person_key(DEV_PERSON_KEY_SECRET, "nhs", "9990000001")
    assert (event.source_system, event.source_record_key) == ("health", "api:referrals:HR1")
    assert event.occurred_at == datetime(2025, 1, 10, tzinfo=UTC)
    again = client.post("/v1/sources/health/events", json=REFERRAL, headers=token("health"))
    assert again.json()["event_ids"] == [event.event_id]  # deterministic


def test_a_batch_is_all_or_nothing_with_field_errors(client: TestClient, sent: list[Event]) -> None:
    bad = {**REFERRAL, "payload": {**REFERRAL["payload"], "received_on": "2025-02-30"}}  # type: ignore[dict-item]
    response = client.post(
        "/v1/sources/health/events/batch",
        json={"events": [REFERRAL, bad]},
        headers=token("*"),
    )
    assert response.status_code == 422
    locs = [e["loc"] for e in response.json()["detail"]]
    assert locs == [["body", "events", 1, "payload", "referral.received", "received_on"]]
    assert "2025-02-30" not in response.text  # no input echoed
    assert sent == []


def test_future_dates_and_unknown_people_are_refused(client: TestClient) -> None:
    later = (datetime.now(UTC).date() + timedelta(days=3)).isoformat()
    future = {**REFERRAL, "payload": {**REFERRAL["payload"], "received_on": later}}  # type: ignore[dict-item]
    response = client.post("/v1/sources/health/events", json=future, headers=token("health"))
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", 0, "payload", "received_on"]
    assert response.json()["detail"][0]["type"] == "R-DATA-FUTURE"
    nobody = {**REFERRAL, "person": {}}
    response = client.post("/v1/sources/health/events", json=nobody, headers=token("health"))
    assert response.status_code == 422
    assert "give the person's id, UPN, ULN or NHS number" in response.text


def test_batches_are_bounded(client: TestClient) -> None:
    response = client.post(
        "/v1/sources/health/events/batch", json={"events": [REFERRAL] * 4}, headers=token("health")
    )
    assert response.status_code == 422
    assert response.json()["detail"][0]["msg"] == "at most 3 events in one batch"


@pytest.mark.parametrize(
    ("headers", "status"),
    [
        ({}, 401),
        ({"Authorization": "Bearer not-a-jwt"}, 401),
        (token("health", ttl=timedelta(minutes=-5)), 401),
        (token("liquidlogic"), 403),
    ],
)
def test_tokens_are_required_and_scoped_per_source(
    client: TestClient, headers: dict[str, str], status: int
) -> None:
    response = client.post("/v1/sources/health/events", json=REFERRAL, headers=headers)
    assert response.status_code == status


def test_contracts_are_published(client: TestClient) -> None:
    schema = client.get("/schemas/event.v1.json")
    assert schema.status_code == 200 and '"referral.received"' in schema.text
    assert client.get("/schemas/nothing.v1.json").status_code == 404
    document = yaml.safe_load(client.get("/asyncapi.yaml").text)
    assert document["asyncapi"] == "3.0.0"
    events = document["components"]["messages"]["events"]
    assert events["payload"]["schema"]["$ref"].endswith("/schemas/event.v1.json")
    assert document["channels"]["events"]["address"] == "casewatch.events"
    openapi = client.get("/openapi.json").json()
    assert "/v1/sources/{source}/events/batch" in openapi["paths"]

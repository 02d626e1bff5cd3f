"""Ingest API batches on the real broker: all or nothing, and exactly the ids published.

Before: a batch of one small and one 5 MB event answered 500 with the small one published,
and the next, unrelated request answered ``"published": 2`` with one event id (the failed
batch's acknowledgement was counted with it).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr

from schemas.events import Event, PersonRegistered, make_event
from services.cli import all_topics
from services.ingest.api.app import create_app
from services.ingest.api.tokens import mint_token
from services.ingest.config import IngestSettings
from services.ingest.publisher import EventPublisher, PublishReport
from services.runtime.broker import EmbeddedBroker, ensure_topics
from services.runtime.settings import Settings
from tests.integration.conftest import read_topic

SECRET = "an-api-batch-test-secret-of-32-chars!!"
SMALL = {
    "record_key": "people:1",
    "person": {"id": "P-1"},
    "payload": {"type": "person.registered", "child_ref": "C1"},
}


def person(ref: str) -> Event:
    at = datetime(2025, 1, 1, tzinfo=UTC)
    # the schema bounds child_ref (128); the publisher must cope with whatever it is handed
    payload = PersonRegistered.model_construct(child_ref=ref)
    return make_event(
        source_system="liquidlogic",
        source_record_key=f"people:{ref[:8]}",
        person_key="pk-batch-test-000000000001",
        occurred_at=at,
        recorded_at=at,
        payload=payload,
    )


@pytest.fixture
def settings(broker: EmbeddedBroker, tmp_path: Path) -> Settings:
    settings = Settings(kafka_bootstrap=broker.bootstrap, data_dir=tmp_path / "data")
    names, compacted = all_topics(settings)
    ensure_topics(broker.bootstrap, settings.partitions, names, compacted)
    return settings


@pytest.mark.integration
def test_a_refused_send_is_not_counted_by_the_next_publish(settings: Settings) -> None:
    with EventPublisher(settings.kafka_bootstrap, settings.topic_events) as publisher:
        with pytest.raises(Exception, match=r"MessageSizeTooLarge|too large|larger"):
            publisher.publish([person("C1"), person("C" * (5 * 1024 * 1024))])
        report = publisher.publish([person("C2")])
    assert report == PublishReport(published=1, failed=0)


@pytest.mark.integration
def test_a_batch_with_an_oversized_event_publishes_nothing(
    settings: Settings, tmp_path: Path
) -> None:
    config = IngestSettings(
        state_path=tmp_path / "state.sqlite",
        token_secret=SecretStr(SECRET),
        max_body_bytes=16 * 1024 * 1024,
    )
    token = mint_token(SECRET, subject="t", sources=["liquidlogic"], audience=config.token_audience)
    headers = {"Authorization": f"Bearer {token}"}
    huge = {**SMALL, "record_key": "people:2", "person": {"id": "P-2"}}
    huge["payload"] = {"type": "person.registered", "child_ref": "C" * (5 * 1024 * 1024)}
    with TestClient(create_app(settings, config)) as client:
        refused = client.post(
            "/v1/sources/liquidlogic/events/batch", json={"events": [SMALL, huge]}, headers=headers
        )
        assert refused.status_code == 422  # the schema bounds every string, before any size
        assert refused.json()["detail"][0]["type"] == "string_too_long"
        after = client.post("/v1/sources/liquidlogic/events", json=SMALL, headers=headers)
        assert after.status_code == 202
        (event_id,) = after.json()["event_ids"]
        assert after.json()["published"] == 1
    published = [
        json.loads(v)["event_id"]
        for v in read_topic(settings.kafka_bootstrap, settings.topic_events)
    ]
    assert published == [event_id]

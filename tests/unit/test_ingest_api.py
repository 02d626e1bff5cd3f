"""The HTTP ingest API: tokens scoped per source system, field-level 4xx, contracts served."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

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


# --- source authority, through the API ---------------------------------------------------


def test_a_health_token_cannot_cease_a_plan_or_move_a_child(
    client: TestClient, sent: list[Event]
) -> None:
    """The issue's attacks: a plan.ceased and a person.updated naming cw-evil, as health."""
    ceased = {
        "record_key": "x:1",
        "person": {"nhs": "9990000001"},
        "payload": {"type": "plan.ceased", "plan_id": "P1", "ceased_on": "2025-01-10"},
    }
    moved = {
        "record_key": "x:2",
        "person": {"nhs": "9990000001"},
        "payload": {
            "type": "person.updated",
            "child_ref": "C1",
            "caseworker_id": "cw-evil",
            "team": "nowhere",
        },
    }
    for body in (ceased, moved):
        response = client.post("/v1/sources/health/events", json=body, headers=token("health"))
        assert response.status_code == 403
        kind = body["payload"]["type"]  # type: ignore[index]
        assert response.json()["detail"] == (
            f"event 0 ({kind}): a health source ('health') may not assert {kind}"
        )
    batch = {"events": [REFERRAL, ceased]}  # one good, one not: nothing published
    response = client.post("/v1/sources/health/events/batch", json=batch, headers=token("*"))
    assert response.status_code == 403 and "event 1 (plan.ceased)" in response.text
    assert sent == []


def test_a_token_may_be_narrowed_to_event_types(client: TestClient, sent: list[Event]) -> None:
    narrow = mint_token(
        TOKEN_SECRET,
        subject="contacts-only",
        sources=["health"],
        audience=AUDIENCE,
        event_types=["referral.first_contact"],
    )
    headers = {"Authorization": f"Bearer {narrow}"}
    response = client.post("/v1/sources/health/events", json=REFERRAL, headers=headers)
    assert response.status_code == 403
    assert response.json()["detail"].endswith("the token may not publish referral.received")
    contact = {
        **REFERRAL,
        "payload": {
            "type": "referral.first_contact",
            "referral_id": "HR1",
            "contact_on": "2025-02-01",
        },
    }
    assert (
        client.post("/v1/sources/health/events", json=contact, headers=headers).status_code == 202
    )
    assert [e.event_type for e in sent] == ["referral.first_contact"]
    with pytest.raises(ValueError, match="unknown event types"):
        mint_token(
            TOKEN_SECRET, subject="x", sources=["health"], audience=AUDIENCE, event_types=["plan"]
        )


def _cells() -> list[tuple[str, str]]:
    from tests.unit.test_authority import CELLS

    return sorted(CELLS)


@pytest.mark.parametrize(("kind", "event_type"), _cells())
def test_each_cell_of_the_table_holds_in_the_api(
    client: TestClient, sent: list[Event], kind: str, event_type: str
) -> None:
    from tests.unit.test_authority import CELLS, NAME_OF, SAMPLES

    source = NAME_OF[kind]
    body = {
        "record_key": "cell:1",
        "person": {"id": "P-1"},
        "payload": SAMPLES[event_type].model_dump(mode="json"),
    }
    response = client.post(f"/v1/sources/{source}/events", json=body, headers=token("*"))
    withheld = CELLS[(kind, event_type)]
    if withheld is None or withheld:
        assert response.status_code == 403, response.text
        assert f"may not assert {', '.join(sorted(withheld or ()))}" in response.text or (
            withheld is None and f"may not assert {event_type}" in response.text
        )
        assert sent == []
    else:
        assert response.status_code == 202, response.text
        assert [e.event_type for e in sent] == [event_type]


# --- edges: body limit, token before body, all-or-nothing, no 500 ---------------------------


def small_client(tmp_path: Path, publish: Callable[[Sequence[Event]], PublishReport]) -> TestClient:
    config = IngestSettings(
        state_path=tmp_path / "state.sqlite",
        token_secret=SecretStr(TOKEN_SECRET),
        max_body_bytes=4096,
    )
    return TestClient(create_app(Settings(data_dir=tmp_path), config, publish=publish))


def test_a_body_over_the_limit_is_413_declared_or_streamed(
    tmp_path: Path, sent: list[Event]
) -> None:
    client = small_client(
        tmp_path, lambda events: (sent.extend(events), PublishReport(len(events), 0))[1]
    )
    big = {"events": [REFERRAL] * 40}  # ~5 KB of JSON
    response = client.post("/v1/sources/health/events/batch", json=big, headers=token("health"))
    assert response.status_code == 413
    assert response.json() == {"detail": "the request body may hold at most 4096 bytes"}

    def chunks() -> Iterator[bytes]:  # no Content-Length: counted as it arrives
        yield b'{"events": ['
        for _ in range(40):
            yield json.dumps(REFERRAL).encode() + b","
        yield b"]}"

    streamed = client.post(
        "/v1/sources/health/events/batch",
        content=chunks(),
        headers={**token("health"), "content-type": "application/json"},
    )
    assert streamed.status_code == 413
    assert sent == []
    ok = client.post("/v1/sources/health/events", json=REFERRAL, headers=token("health"))
    assert ok.status_code == 202


def asgi_post(app: Any, path: str, headers: list[tuple[bytes, bytes]]) -> tuple[int, int]:
    """POST to ``app`` at the ASGI edge: (status, how many times the body was received)."""
    received: list[int] = []
    answered: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        received.append(1)
        return {"type": "http.request", "body": b"x" * 1_000_000, "more_body": True}

    async def send(message: dict[str, Any]) -> None:
        answered.append(message)

    scope = {
        "type": "http",
        "http_version": "1.1",
        "method": "POST",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "headers": [(b"content-type", b"application/json"), *headers],
        "scheme": "http",
        "server": ("test", 80),
        "client": ("test", 1),
        "root_path": "",
    }
    asyncio.run(app(scope, receive, send))
    return answered[0]["status"], len(received)


def test_the_token_is_refused_before_a_byte_of_the_body_is_read(tmp_path: Path) -> None:
    """At the ASGI edge: a request without a valid token never has its body received, even
    one declaring a body over the limit (401 comes before 413)."""
    app = small_client(tmp_path, lambda events: PublishReport(len(events), 0)).app
    huge = (b"content-length", b"999999999")
    for authorization in (
        [],
        [(b"authorization", b"Bearer nonsense")],
        [(b"authorization", b"Basic a")],
    ):
        assert asgi_post(app, "/v1/sources/health/events", [huge, *authorization]) == (401, 0)
    valid = [(b"authorization", token("health")["Authorization"].encode())]
    assert asgi_post(app, "/v1/sources/health/events", [huge, *valid]) == (413, 0)


def test_an_oversized_event_refuses_the_batch_and_the_next_request_counts_only_its_own(
    tmp_path: Path, sent: list[Event]
) -> None:
    config = IngestSettings(
        state_path=tmp_path / "state.sqlite", token_secret=SecretStr(TOKEN_SECRET)
    )

    def publish(events: Sequence[Event]) -> PublishReport:
        sent.extend(events)
        return PublishReport(len(events), 0)

    client = TestClient(create_app(Settings(data_dir=tmp_path), config, publish=publish))
    huge = {
        "record_key": "people:1",
        "person": {"id": "P-1"},
        "payload": {"type": "person.registered", "child_ref": "C" * 300_000},
    }
    batch = {"events": [REFERRAL, huge]}
    response = client.post("/v1/sources/liquidlogic/events/batch", json=batch, headers=token("*"))
    assert response.status_code in (403, 422)  # health facts are not liquidlogic's; too long
    batch = {"events": [{**huge, "payload": {**huge["payload"], "child_ref": "C1"}}, huge]}  # type: ignore[dict-item]
    response = client.post("/v1/sources/liquidlogic/events/batch", json=batch, headers=token("*"))
    assert response.status_code == 422  # the schema bounds child_ref: the batch, not one event
    assert response.json()["detail"][0]["loc"][:3] == ["body", "events", 1]
    assert response.json()["detail"][0]["type"] == "string_too_long"
    assert "CCCC" not in response.text
    assert sent == []
    after = client.post("/v1/sources/health/events", json=REFERRAL, headers=token("health"))
    assert after.json() == {"published": 1, "event_ids": [sent[0].event_id]}


def test_a_broker_that_fails_is_503_and_links_nobody(tmp_path: Path, sent: list[Event]) -> None:
    calls: list[int] = []

    def publish(events: Sequence[Event]) -> PublishReport:
        calls.append(len(events))
        if len(calls) == 1:
            raise OSError("no broker")
        sent.extend(events)
        return PublishReport(len(events), 0)

    client = small_client(tmp_path, publish)
    failed = client.post("/v1/sources/health/events", json=REFERRAL, headers=token("health"))
    assert failed.status_code == 503
    retried = client.post("/v1/sources/health/events", json=REFERRAL, headers=token("health"))
    assert retried.status_code == 202 and retried.json()["event_ids"] == [sent[0].event_id]


def test_a_body_that_is_not_json_is_400(client: TestClient) -> None:
    response = client.post(
        "/v1/sources/health/events",
        content=b"{not json",
        headers={**token("health"), "content-type": "application/json"},
    )
    assert response.status_code == 400


def test_the_openapi_documents_every_refusal(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    for path in ("/v1/sources/{source}/events", "/v1/sources/{source}/events/batch"):
        documented = set(paths[path]["post"]["responses"])
        assert {"202", "400", "401", "403", "413", "422", "503"} <= documented


def test_the_app_serves_again_after_a_lifespan_ended(tmp_path: Path, sent: list[Event]) -> None:
    """Found by the fuzzer: the first lifespan's end closed the state for good (500 after)."""

    def publish(events: Sequence[Event]) -> PublishReport:
        sent.extend(events)
        return PublishReport(len(events), 0)

    config = IngestSettings(state_path=tmp_path / "s.sqlite", token_secret=SecretStr(TOKEN_SECRET))
    app = create_app(Settings(data_dir=tmp_path), config, publish=publish)
    for _ in range(2):
        with TestClient(app) as client:
            response = client.post("/v1/sources/health/events", json=REFERRAL, headers=token("*"))
            assert response.status_code == 202, response.text
    assert len(sent) == 2


def test_a_health_source_publishes_referrals_to_its_own_service_only(
    client: TestClient, sent: list[Event]
) -> None:
    """health-salt may not state a camhs referral (403, naming the rule); health-autism may
    state the autism one; the answer carries the service code, never the child."""
    camhs = {**REFERRAL, "payload": {**REFERRAL["payload"], "service": "camhs"}}  # type: ignore[dict-item]
    headers = token("health-salt", "health-autism")
    refused = client.post("/v1/sources/health-salt/events", json=camhs, headers=headers)
    assert refused.status_code == 403, refused.text
    assert "may state referrals to its own service only, not to 'camhs'" in refused.text
    assert "9990000001" not in refused.text and sent == []
    own = client.post("/v1/sources/health-autism/events", json=REFERRAL, headers=headers)
    assert own.status_code == 202, own.text
    assert [(e.source_system, e.event_type) for e in sent] == [
        ("health-autism", "referral.received")
    ]


def test_the_api_counts_what_it_published_and_refused_for_the_dashboard(
    client: TestClient, sent: list[Event]
) -> None:
    """GET /metrics: requests by source and status (401 before the body counted too), events
    published and refused, and each refusal's rule; labels bounded, no person or record."""
    later = (datetime.now(UTC).date() + timedelta(days=3)).isoformat()
    future = {**REFERRAL, "payload": {**REFERRAL["payload"], "received_on": later}}  # type: ignore[dict-item]
    camhs = {**REFERRAL, "payload": {**REFERRAL["payload"], "service": "camhs"}}  # type: ignore[dict-item]
    headers = token("health", "health-salt", "health-camhs-x9")
    url = "/v1/sources/{}/events"
    assert client.post(url.format("health"), json=REFERRAL, headers=headers).status_code == 202
    assert client.post(url.format("health"), json=future, headers=headers).status_code == 422
    assert client.post(url.format("health-salt"), json=camhs, headers=headers).status_code == 403
    assert (
        client.post(url.format("health-camhs-x9"), json=camhs, headers=headers).status_code == 202
    )
    assert client.post(url.format("liquidlogic"), json=REFERRAL, headers=headers).status_code == 403
    assert client.post(url.format("health"), json=REFERRAL).status_code == 401
    as_json = {**headers, "Content-Type": "application/json"}
    bad_json = client.post(url.format("health"), content=b"{", headers=as_json)
    assert bad_json.status_code == 400
    text = client.get("/metrics").text
    for line in (
        'casewatch_ingest_api_requests_total{source="health",status="202"} 2.0',
        'casewatch_ingest_api_requests_total{source="health",status="422"} 1.0',
        'casewatch_ingest_api_requests_total{source="health",status="403"} 1.0',
        'casewatch_ingest_api_requests_total{source="health",status="401"} 1.0',
        'casewatch_ingest_api_requests_total{source="health",status="400"} 1.0',
        'casewatch_ingest_api_requests_total{source="liquidlogic",status="403"} 1.0',
        'casewatch_ingest_api_events_total{outcome="published",source="health"} 2.0',
        'casewatch_ingest_api_events_total{outcome="refused",source="health"} 2.0',
        'casewatch_ingest_api_refusals_total{rule="R-DATA-FUTURE",source="health"} 1.0',
        'casewatch_ingest_api_refusals_total{rule="not_entitled",source="health"} 1.0',
        'casewatch_ingest_api_refusals_total{rule="token_source",source="liquidlogic"} 1.0',
        'casewatch_ingest_api_refusals_total{rule="json_invalid",source="health"} 1.0',
    ):
        assert line in text, line
    assert "x9" not in text and "9990000001" not in text and "HR1" not in text
    assert len(sent) == 2


def test_a_case_system_posting_a_name_and_birth_date_links_a_return_of_the_same_child(
    client: TestClient, sent: list[Event]
) -> None:
    """A young person with no UPN or ULN: the case system posts them with their name and date
    of birth, so a SEN2 return naming them the same way is left to that record (not a second
    journey). The name is never echoed, and a partial name is not an identifier."""
    from services.ingest.linking import IdentityLinker

    person = {"id": "P-77", "forename": "Flo", "surname": "Madeup", "date_of_birth": "2010-10-22"}
    body = {
        "record_key": "persons:P-77",
        "person": person,
        "payload": {
            "type": "person.registered",
            "child_ref": "LL-77",
            "date_of_birth": "2010-10-22",
        },
    }
    response = client.post("/v1/sources/liquidlogic/events", json=body, headers=token("*"))
    assert response.status_code == 202, response.text
    assert "Madeup" not in response.text
    (event,) = sent
    assert event.person_key == person_key(DEV_PERSON_KEY_SECRET, "liquidlogic", "P-77")

    saved = client.app.state.ingest.state.links()  # type: ignore[attr-defined]
    linker = IdentityLinker(DEV_PERSON_KEY_SECRET, links=saved)  # as a later SEN2 run loads it
    sen2 = linker.resolve(None, [("demographic", "flo|madeup|2010-10-22")])
    assert sen2.person_key == event.person_key and linker.named_by_a_system(event.person_key)

    partial = {**REFERRAL, "person": {"forename": "Flo", "surname": "Madeup"}}
    response = client.post("/v1/sources/health/events", json=partial, headers=token("health"))
    assert response.status_code == 422
    assert "or forename, surname and date of birth together" in response.text
    assert "Madeup" not in response.text

"""No 500 for any input: schemathesis generates requests from each service's OpenAPI.

Bounded (a few dozen examples an operation) so it runs in ``make test``; each request is
sent with a valid token and without one.
"""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import SecretStr
from schemathesis.python import asgi

from schemas.events import Event
from services.alerts.config import AlertSettings
from services.alerts.store.store import AlertStore
from services.alerts.web.app import create_app as create_alerts_app
from services.alerts.web.auth import mint_token as mint_alerts_token
from services.ingest.api.app import create_app
from services.ingest.api.tokens import mint_token
from services.ingest.config import IngestSettings
from services.ingest.publisher import PublishReport
from services.runtime.settings import Settings
from tests.unit.test_alert_store import fid, flag

TOKEN_SECRET = "a-fuzz-secret-of-at-least-32-characters!"


def ingest_app(tmp: Path) -> TestClient:
    def publish(events: Sequence[Event]) -> PublishReport:
        return PublishReport(len(events), 0)

    config = IngestSettings(
        state_path=tmp / "state.sqlite", token_secret=SecretStr(TOKEN_SECRET), max_batch=50
    )
    return TestClient(create_app(Settings(data_dir=tmp), config, publish=publish))


TOKEN = mint_token(TOKEN_SECRET, subject="fuzz", sources=["*"], audience="casewatch-ingest")
HERE = Path(tempfile.mkdtemp(prefix="casewatch-fuzz-"))
INGEST = ingest_app(HERE)
SCHEMA = schemathesis.openapi.from_asgi("/openapi.json", INGEST.app)
# one client for the whole run, as a server has: its lifespan starts once and never stops
# (a client per request would shut the app, and its state, down after the first)
INGEST_SESSION = asgi.get_client(INGEST.app).__enter__()
OPERATIONS = [result.ok() for result in SCHEMA.get_all_operations()]
INGEST_API: dict[str, Any] = INGEST.app.openapi()


def assert_documented(api: dict[str, Any], operation: Any, status: int) -> None:
    """Every answer the fuzzer met is one the OpenAPI documents for that operation (the
    issue: 400/401/403/413/503), so a client generated from it knows every refusal."""
    documented = api["paths"][operation.path][operation.method.lower()]["responses"]
    assert str(status) in documented, (operation.label, status, sorted(documented))


POSITIVE, NEGATIVE = schemathesis.GenerationMode.POSITIVE, schemathesis.GenerationMode.NEGATIVE
# invalid input only where there is input to make invalid (a path parameter or a body)
CASES = [
    pytest.param(o, mode, id=f"{o.label} {mode.value}")
    for o in OPERATIONS
    for mode in (POSITIVE, NEGATIVE)
    if mode is POSITIVE or o.method.upper() == "POST"
]


@pytest.mark.parametrize(("operation", "mode"), CASES)
@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck), database=None)
@given(data=st.data())
def test_the_ingest_api_never_answers_500(
    operation: Any, mode: schemathesis.GenerationMode, data: st.DataObject
) -> None:
    fixed = {}
    if "{source}" in operation.path and mode is POSITIVE:  # often a real source: published
        source = data.draw(st.sampled_from([None, "liquidlogic", "health", "sen2"]))
        fixed = {"source": source} if source else {}
    case = data.draw(operation.as_strategy(generation_mode=mode, path_parameters=fixed or None))
    for headers in ({"Authorization": f"Bearer {TOKEN}"}, {}):
        response = case.call(headers=headers, session=INGEST_SESSION)
        assert response.status_code < 500, (response.status_code, response.text[:500])
        assert_documented(INGEST_API, operation, response.status_code)


def alerts_app(tmp: Path) -> tuple[TestClient, str]:
    store = AlertStore(f"sqlite:///{tmp / 'alerts.db'}")
    store.apply_many([flag(n=1, caseworker_id="cw-01"), flag(n=2, caseworker_id="cw-02")])
    app = create_alerts_app(Settings(data_dir=tmp), store, consume=False, config=AlertSettings())
    token = mint_alerts_token(AlertSettings(), tmp, subject="cw-01", roles=["caseworker"])
    return TestClient(app), token


ALERTS, ALERTS_TOKEN = alerts_app(Path(tempfile.mkdtemp(prefix="casewatch-fuzz-alerts-")))
ALERTS_SCHEMA = schemathesis.openapi.from_asgi("/openapi.json", ALERTS.app)
ALERTS_SESSION = asgi.get_client(ALERTS.app).__enter__()
ALERTS_OPERATIONS = [result.ok() for result in ALERTS_SCHEMA.get_all_operations()]
ALERTS_API: dict[str, Any] = ALERTS.app.openapi()
ALERTS_CASES = [
    pytest.param(o, mode, id=f"{o.label} {mode.value}")
    for o in ALERTS_OPERATIONS
    for mode in (POSITIVE, NEGATIVE)
    if mode is POSITIVE or o.method.upper() == "POST"
]


@pytest.mark.parametrize(("operation", "mode"), ALERTS_CASES)
@settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck), database=None)
@given(data=st.data())
def test_the_alerts_api_never_answers_500(
    operation: Any, mode: schemathesis.GenerationMode, data: st.DataObject
) -> None:
    fixed = {}
    if "{flag_id}" in operation.path and mode is POSITIVE:  # often an alert that exists
        flag_id = data.draw(st.sampled_from([None, fid(1), fid(2)]))
        fixed = {"flag_id": flag_id} if flag_id else {}
    case = data.draw(operation.as_strategy(generation_mode=mode, path_parameters=fixed or None))
    for headers in ({"Authorization": f"Bearer {ALERTS_TOKEN}"}, {}):
        response = case.call(headers=headers, session=ALERTS_SESSION)
        assert response.status_code < 500, (response.status_code, response.text[:500])
        assert_documented(ALERTS_API, operation, response.status_code)


def test_the_fuzzed_api_is_the_real_one() -> None:
    """The schema the fuzzer reads has the publishing operations (not an empty document)."""
    labels = {o.label for o in OPERATIONS}
    assert {"POST /v1/sources/{source}/events", "POST /v1/sources/{source}/events/batch"} <= labels
    assert "POST /alerts/{flag_id}/acknowledge" in {o.label for o in ALERTS_OPERATIONS}


@pytest.mark.parametrize(
    ("api", "codes"),
    [
        ("ingest", {"400", "401", "403", "413", "422", "503"}),
        ("alerts", {"401", "403", "413"}),
    ],
)
def test_every_operation_documents_its_refusals(api: str, codes: set[str]) -> None:
    """Refusals that happen before any route runs (401, 413) or on any route are in every
    operation's OpenAPI; the alerts API's alert routes also document 404, its casework 409."""
    document = INGEST_API if api == "ingest" else ALERTS_API
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            if path == "/healthz" or (api == "ingest" and method == "get"):
                continue  # public reads: the fuzzer's check holds what they answer
            responses = set(operation["responses"])
            assert codes <= responses, (method, path, sorted(responses))
            if api == "alerts" and "{flag_id}" in path:
                assert "404" in responses
            if api == "alerts" and method == "post":
                assert "409" in responses

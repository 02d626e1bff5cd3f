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

from schemas.events import Event
from services.ingest.api.app import create_app
from services.ingest.api.tokens import mint_token
from services.ingest.config import IngestSettings
from services.ingest.publisher import PublishReport
from services.runtime.settings import Settings

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
OPERATIONS = [result.ok() for result in SCHEMA.get_all_operations()]
POSITIVE, NEGATIVE = schemathesis.GenerationMode.POSITIVE, schemathesis.GenerationMode.NEGATIVE
# invalid input only where there is input to make invalid (a path parameter or a body)
CASES = [
    pytest.param(o, mode, id=f"{o.label} {mode.value}")
    for o in OPERATIONS
    for mode in (POSITIVE, NEGATIVE)
    if mode is POSITIVE or "{" in o.path or o.method.upper() == "POST"
]


@pytest.mark.parametrize(("operation", "mode"), CASES)
@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck), database=None)
@given(data=st.data())
def test_the_ingest_api_never_answers_500(
    operation: Any, mode: schemathesis.GenerationMode, data: st.DataObject
) -> None:
    fixed = {}
    if "{source}" in operation.path:  # half the time a real source, so events are published
        source = data.draw(st.sampled_from([None, "liquidlogic", "health", "sen2"]))
        fixed = {"source": source} if source else {}
    case = data.draw(operation.as_strategy(generation_mode=mode, path_parameters=fixed or None))
    for headers in ({"Authorization": f"Bearer {TOKEN}"}, {}):
        response = case.call(headers=headers)
        assert response.status_code < 500, (response.status_code, response.text[:500])


def test_the_fuzzed_api_is_the_real_one() -> None:
    """The schema the fuzzer reads has the publishing operations (not an empty document)."""
    labels = {o.label for o in OPERATIONS}
    assert {"POST /v1/sources/{source}/events", "POST /v1/sources/{source}/events/batch"} <= labels

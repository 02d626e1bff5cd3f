"""`casewatch replay --as-of D` gives the answer the streaming system gives on D.

The demo authority is ingested through the real broker into a worker whose clock is fixed at
D; the open flags read back from `casewatch.flags` must be exactly the flags replay lists.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest

from services.cli import all_topics
from services.runtime.broker import EmbeddedBroker, ensure_topics
from services.runtime.settings import Settings
from tests.integration.conftest import casewatch_process, poll_until, read_topic, service_env

pytestmark = pytest.mark.integration

AS_OF = date(2026, 3, 2)


def cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "services.cli", *args],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=180,
    )


def open_flag_ids(bootstrap: str, topic: str) -> set[str]:
    """Replay the flags topic from the start: a flag is open if its last record is raised."""
    status: dict[str, str] = {}
    for value in read_topic(bootstrap, topic, quiet=1.0):
        body = json.loads(value)
        status[body["flag_id"]] = body["status"]
    return {fid for fid, s in status.items() if s == "raised"}


def test_streamed_flags_equal_replay_on_the_same_date(
    broker: EmbeddedBroker, tmp_path: Path
) -> None:
    export = tmp_path / "export"
    env = service_env(broker, tmp_path / "data", CASEWATCH_CLOCK_DATE=AS_OF.isoformat())
    settings = Settings(kafka_bootstrap=broker.bootstrap)
    names, compacted = all_topics(settings)
    ensure_topics(broker.bootstrap, settings.partitions, names, compacted)
    made = cli(
        "demo-data",
        "--children",
        "150",
        "--seed",
        "5",
        "--out",
        str(export),
        "--today",
        AS_OF.isoformat(),
        env=env,
    )
    assert made.returncode == 0, made.stderr

    replayed = cli("replay", str(export), "--as-of", AS_OF.isoformat(), "--format", "json", env=env)
    assert replayed.returncode == 0, replayed.stderr
    expected = {f["flag_id"] for f in json.loads(replayed.stdout)["flags"]}
    assert len(expected) > 20  # the demo authority has plenty to flag

    with casewatch_process(["worker"], env, tmp_path / "worker.log"):
        ingested = cli("ingest", "export", str(export), env=env)
        assert ingested.returncode == 0, ingested.stdout + ingested.stderr

        def streamed_matches() -> set[str] | None:
            got = open_flag_ids(broker.bootstrap, settings.topic_flags)
            return got if got == expected else None

        try:
            poll_until(streamed_matches, timeout=120, what="the streamed flags to match replay")
        except AssertionError:
            got = open_flag_ids(broker.bootstrap, settings.topic_flags)
            missing, extra = expected - got, got - expected
            raise AssertionError(f"{len(missing)} flags missing, {len(extra)} extra") from None

"""``casewatch ingest`` against the real broker: every fact once, a re-run adds nothing, and
``--all-or-nothing`` publishes nothing from a bad export."""

from __future__ import annotations

import io
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from kafka.partitioner import murmur2

from schemas.events import Event
from services.cli import all_topics
from services.ingest.config import IngestSettings
from services.ingest.demo.authority import write_demo_export
from services.ingest.demo.types import names, nhs_number, uln, upn
from services.ingest.envelope import event_json
from services.ingest.linking import IdentityLinker
from services.ingest.pipeline import ProducerProcess
from services.ingest.runner import IngestOptions, run_ingest
from services.ingest.ssd.adapter import read_ssd_export
from services.ingest.state import IngestState
from services.runtime.broker import EmbeddedBroker, ensure_topics
from services.runtime.settings import Settings
from tests.integration.conftest import read_records, service_env

pytestmark = pytest.mark.integration


def ingest(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "services.cli", "ingest", *args],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=180,
    )


def with_topics(settings: Settings) -> Settings:
    """``settings``, once casewatch's topics exist on its broker."""
    names_, compacted = all_topics(settings)
    ensure_topics(settings.kafka_bootstrap, settings.partitions, names_, compacted)
    return settings


def topic_size(bootstrap: str, topic: str) -> int:
    return len(read_records(bootstrap, topic))


def test_an_export_is_published_once_and_a_rerun_adds_nothing(
    broker: EmbeddedBroker, tmp_path: Path
) -> None:
    settings = with_topics(Settings(kafka_bootstrap=broker.bootstrap))
    env = service_env(broker, tmp_path / "data")
    export = tmp_path / "export"
    write_demo_export(export, children=80, seed=3, today=date.today())

    first = ingest(["export", str(export)], env)
    assert first.returncode == 0, first.stdout + first.stderr
    published = int(first.stdout.rsplit(";", 1)[-1].split()[0])
    assert published > 400
    assert topic_size(broker.bootstrap, settings.topic_events) == published

    second = ingest(["export", str(export)], env)
    assert second.returncode == 0, second.stdout + second.stderr
    assert second.stdout.rstrip().endswith("; 0 events published")
    assert topic_size(broker.bootstrap, settings.topic_events) == published

    sen2 = ingest(["sen2", str(export / "sen2" / "sen2_return.xml")], env)
    assert sen2.returncode == 0, sen2.stdout + sen2.stderr
    assert "R-SEN2-LINKED" in sen2.stdout  # the SSD export is these children's record
    assert sen2.stdout.rstrip().endswith("; 0 events published")

    from services.ingest.demo.authority import build_children

    output = first.stdout + first.stderr + second.stdout + second.stderr + sen2.stdout
    for child in build_children(80, 3, date.today())[:20]:
        found = (*names(child), child.born.isoformat(), upn(child), uln(child), nhs_number(child))
        for value in filter(None, found):  # a young person may have no UPN, or no ULN
            assert value not in output


def test_all_or_nothing_publishes_nothing_from_a_bad_export(
    broker: EmbeddedBroker, tmp_path: Path
) -> None:
    settings = with_topics(Settings(kafka_bootstrap=broker.bootstrap))
    env = service_env(broker, tmp_path / "data")
    export = tmp_path / "export"
    write_demo_export(export, children=30, seed=3, today=date.today(), sen2=False, health=False)
    with (export / "ssd_ehcp_requests.csv").open("a") as f:
        f.write("REQ99999,SEND00001,31/02/2024,,\n")
    result = ingest(["ssd", str(export), "--all-or-nothing"], env)
    assert result.returncode == 1
    assert "R-DATA-DATE" in result.stdout and "R-INGEST-ALL" in result.stdout
    assert topic_size(broker.bootstrap, settings.topic_events) == 0
    result = ingest(["ssd", str(export)], env)
    assert result.returncode == 1
    assert topic_size(broker.bootstrap, settings.topic_events) > 0


def test_an_ssd_export_streams_each_event_once_as_its_json_to_its_key_partition(
    broker: EmbeddedBroker, tmp_path: Path
) -> None:
    """The SSD path sends while it reads, from a producer process, with messages encoded
    while reading and partitions computed per key: messages that decode to their events,
    with the canonical payload the event id is computed from, and the partitions of Kafka's
    default partitioner."""
    settings = with_topics(Settings(kafka_bootstrap=broker.bootstrap))
    env = service_env(broker, tmp_path / "data")
    export = tmp_path / "export"
    write_demo_export(export, children=120, seed=5, today=date.today(), sen2=False, health=False)
    result = ingest(["ssd", str(export)], env)
    assert result.returncode == 0, result.stdout + result.stderr
    published = int(result.stdout.rsplit(";", 1)[-1].split()[0])
    found = [
        (r.partition, r.key, r.value) for r in read_records(broker.bootstrap, settings.topic_events)
    ]
    assert len(found) == published > 600
    ids = set()
    for partition, key, value in found:
        event = Event.model_validate_json(value)
        assert value == event_json(event)
        assert json.loads(value) == json.loads(event.model_dump_json())
        assert key == event.person_key.encode()
        assert partition == (murmur2(key) & 0x7FFFFFFF) % settings.partitions
        ids.add(event.event_id)
    assert len(ids) == published


def test_the_producer_process_keeps_the_state_only_when_every_event_is_acknowledged(
    broker: EmbeddedBroker, tmp_path: Path
) -> None:
    """The CLI's producer process writes what the run remembers as it sends: the same rows
    the runner would write, committed only once every event was acknowledged, so a run that
    failed is published again in full by the next one."""
    settings = with_topics(Settings(kafka_bootstrap=broker.bootstrap, data_dir=tmp_path / "data"))
    topic = settings.topic_events
    export = tmp_path / "export"
    write_demo_export(export, children=60, seed=9, today=date.today(), sen2=False, health=False)
    secret = settings.person_key_secret.get_secret_value()
    kept, expected = tmp_path / "kept.sqlite", tmp_path / "expected.sqlite"

    def ingest_ssd(**overrides: object) -> tuple[int, str]:
        out = io.StringIO()
        code = run_ingest(
            settings,
            IngestOptions(kind="ssd", path=export),
            ingest=IngestSettings(state_path=kept),
            publisher=lambda keep: ProducerProcess(broker.bootstrap, topic, keep=keep, **overrides),
            out=out,
            err=out,
        )
        return code, out.getvalue()

    def the_runners_state() -> None:  # what stage() writes for the same export
        with IngestState(expected) as state:
            linker = IdentityLinker(secret, links=state.links())
            reading = read_ssd_export(
                export, secret=secret, extracted_at=datetime.now(UTC), linker=linker
            )
            state.commit(state.diff(reading), linker.added)

    def published() -> int:
        return len(read_records(broker.bootstrap, topic))

    code, out = ingest_ssd()
    assert code == 0, out
    first = published()
    assert first > 300 and out.rstrip().endswith(f"; {first} events published")
    the_runners_state()
    assert table_rows(kept) == table_rows(expected)

    # one decision changes: only its fact is new; the state follows
    requests = export / "ssd_ehcp_requests.csv"
    lines = requests.read_text().splitlines()
    decided = next(n for n, line in enumerate(lines) if line.split(",")[4] == "Y")
    cells = lines[decided].split(",")  # the outcome, then RequestMediation, RequestTribunal
    lines[decided] = ",".join([*cells[:4], "N", *cells[5:]])
    requests.write_text("\n".join(lines) + "\n")
    before = table_rows(kept)
    # a producer that cannot publish it (every message is over its size limit)
    code, out = ingest_ssd(max_request_size=200)
    assert code == 2, out
    assert table_rows(kept) == before  # nothing kept
    code, out = ingest_ssd()
    assert code == 0, out
    assert out.rstrip().endswith("; 1 events published")
    assert published() == first + 1
    the_runners_state()
    assert table_rows(kept) == table_rows(expected)
    code, out = ingest_ssd()
    assert out.rstrip().endswith("; 0 events published")


def table_rows(path: Path) -> tuple[list[tuple[str, ...]], list[tuple[str, ...]]]:
    with sqlite3.connect(path) as db:
        published = db.execute("SELECT * FROM published ORDER BY 1, 2, 3").fetchall()
        links = db.execute("SELECT * FROM links ORDER BY 1").fetchall()
    return published, links


KILLED_READER = """
import os, signal, sys
from datetime import UTC, datetime
from pathlib import Path
from services.ingest.pipeline import ProducerProcess
from services.ingest.ssd.adapter import read_ssd_export
from services.ingest.state import IngestState, Rest

bootstrap, topic, export, state_path = sys.argv[1:5]
IngestState(Path(state_path)).close()  # the schema, as the runner's reading process makes it
reading = read_ssd_export(Path(export), secret="s", extracted_at=datetime.now(UTC))
producer = ProducerProcess(bootstrap, topic, keep=(Path(state_path), "liquidlogic"))
for event in reading.events:
    producer.send(event)
report = producer.finish(Rest([], [], []))  # the child has written the state, uncommitted
print(producer._process.pid, report.published, flush=True)
os.kill(os.getpid(), signal.SIGKILL)  # the reading process dies before it says "confirm"
"""


def test_a_producer_process_whose_reader_dies_stops_and_keeps_nothing(
    broker: EmbeddedBroker, tmp_path: Path
) -> None:
    settings = with_topics(Settings(kafka_bootstrap=broker.bootstrap))
    export = tmp_path / "export"
    write_demo_export(export, children=20, seed=4, today=date.today(), sen2=False, health=False)
    state = tmp_path / "state.sqlite"
    script = tmp_path / "reader.py"
    script.write_text(KILLED_READER)
    result = subprocess.run(
        [
            sys.executable,
            str(script),
            broker.bootstrap,
            settings.topic_events,
            str(export),
            str(state),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])},
    )
    assert result.returncode == -9, result.stderr
    child, published = map(int, result.stdout.split())
    assert published > 100  # the events were sent and acknowledged
    deadline = time.monotonic() + 30
    while Path(f"/proc/{child}").exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not Path(f"/proc/{child}").exists(), "the producer process outlived its reader"
    assert table_rows(state) == ([], [])  # nothing was kept: the next run publishes again


def processes_reading(path: Path) -> list[int]:
    """Pids of live processes whose command line names ``path``."""
    found = []
    for proc in Path("/proc").iterdir():
        try:
            cmdline = (proc / "cmdline").read_bytes()
            state = (proc / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except (OSError, IndexError):
            continue
        if str(path).encode() in cmdline and state != "Z":
            found.append(int(proc.name))
    return found


def test_ctrl_c_during_an_ssd_ingest_stops_both_processes_and_keeps_nothing(
    broker: EmbeddedBroker, tmp_path: Path
) -> None:
    with_topics(Settings(kafka_bootstrap=broker.bootstrap))
    export = tmp_path / "export"
    write_demo_export(export, children=3000, seed=2, today=date.today(), sen2=False, health=False)
    data = tmp_path / "data"
    state = data / "ingest" / "state.sqlite"
    reader = subprocess.Popen(
        [sys.executable, "-m", "services.cli", "ingest", "ssd", str(export)],
        env={**os.environ, **service_env(broker, data)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    deadline = time.monotonic() + 60
    while not state.exists() and time.monotonic() < deadline:  # the run has begun
        time.sleep(0.01)
    time.sleep(0.3)
    reader.send_signal(signal.SIGINT)
    out, err = reader.communicate(timeout=60)
    assert reader.returncode == 130, out + err
    assert "interrupted: nothing was kept" in err
    deadline = time.monotonic() + 30
    while processes_reading(export) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert processes_reading(export) == []
    assert table_rows(state) == ([], [])
    again = ingest(["ssd", str(export)], service_env(broker, data))
    assert again.returncode == 0, again.stdout + again.stderr
    assert again.stdout.rstrip().endswith("events published")
    assert int(again.stdout.rsplit(";", 1)[-1].split()[0]) > 15_000  # all of it, again

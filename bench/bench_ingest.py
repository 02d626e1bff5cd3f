"""Rows/s from an SSD CSV export to the real broker, beside a raw producer in the same run.

``python bench/bench_ingest.py [--rows 100000] [--compression gzip|none]``

Writes a demo authority with about ``--rows`` SSD rows, starts the embedded broker (Tansu),
then times, in one run on the same machine:
- ingest: ``casewatch ingest ssd`` as a function (read and check every row, link
  identities, diff against an empty state, build and serialise the events, publish with
  acks=all and idempotence, wait for every acknowledgement, commit the state), as the CLI
  runs it (producer in a child process, fed while the export is read) and in one process;
- raw: a kafka-python producer with the same settings sending the very same (key, value)
  bytes, already serialised, and waiting for every acknowledgement;
- a re-run of the ingest (every fact unchanged: publishes nothing).
Prints rows/s and messages/s and the ratio ingest/raw. Figures go to bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import io
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path

from kafka import KafkaProducer

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from services.cli import all_topics
from services.ingest.config import IngestSettings
from services.ingest.demo import write_demo_export
from services.ingest.pipeline import ProducerProcess
from services.ingest.publisher import PRODUCER_CONFIG, EventPublisher
from services.ingest.runner import IngestOptions, Producer, run_ingest
from services.ingest.ssd import read_ssd_export
from services.runtime.broker import EmbeddedBroker, ensure_topics
from services.runtime.settings import Settings

TODAY = date(2026, 11, 23)
ROWS_PER_CHILD = 7.2  # the demo authority's SSD rows per child, roughly


def raw_send(bootstrap: str, topic: str, records: list[tuple[bytes, bytes]], config: dict) -> float:
    producer = KafkaProducer(bootstrap_servers=bootstrap, client_id="bench-raw", **config)
    started = time.perf_counter()
    futures = [producer.send(topic, key=k, value=v) for k, v in records]
    producer.flush()
    assert all(f.succeeded() for f in futures)
    elapsed = time.perf_counter() - started
    producer.close()
    return elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--compression", choices=["gzip", "none"], default="gzip")
    args = parser.parse_args()
    overrides = {"compression_type": None if args.compression == "none" else args.compression}
    config = {**PRODUCER_CONFIG, **overrides}
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp)
        export = home / "export"
        children = int(args.rows / ROWS_PER_CHILD)
        write_demo_export(export, children=children, seed=7, today=TODAY, sen2=False, health=False)
        reading = read_ssd_export(export, secret="bench", extracted_at=datetime.now(UTC))
        rows, events = reading.rows_read, reading.events
        records = [(e.person_key.encode(), e.model_dump_json().encode()) for e in events]
        with EmbeddedBroker(log_path=home / "broker.log") as broker:
            settings = Settings(kafka_bootstrap=broker.bootstrap, data_dir=home / "data")
            names, compacted = all_topics(settings)
            ensure_topics(broker.bootstrap, settings.partitions, names, compacted)
            options = IngestOptions(kind="ssd", path=export)
            topic = settings.topic_events

            def run(state: str, publisher: Callable[[], Producer]) -> tuple[float, str]:
                ingest = IngestSettings(state_path=home / state)
                out = io.StringIO()
                started = time.perf_counter()
                code = run_ingest(
                    settings, options, ingest=ingest, publisher=publisher, out=out, err=out
                )
                elapsed = time.perf_counter() - started
                assert code == 0, out.getvalue()[-500:]
                return elapsed, out.getvalue().rstrip()

            piped_s, _ = run(
                "a.sqlite", lambda: ProducerProcess(broker.bootstrap, topic, **overrides)
            )
            single_s, _ = run(
                "b.sqlite", lambda: EventPublisher(broker.bootstrap, topic, **overrides)
            )
            raw_s = raw_send(broker.bootstrap, topic, records, config)
            rerun_s, text = run(
                "a.sqlite", lambda: ProducerProcess(broker.bootstrap, topic, **overrides)
            )
            assert text.endswith("; 0 events published"), text[-300:]
    n = len(records)
    print(f"{rows} SSD rows, {n} events, compression {args.compression}")
    for label, seconds in (
        ("ingest, producer process", piped_s),
        ("ingest, one process", single_s),
        ("raw kafka-python", raw_s),
        ("re-run, nothing new", rerun_s),
    ):
        print(
            f"{label:<26} {seconds:6.2f} s {rows / seconds:9,.0f} rows/s {n / seconds:9,.0f} ev/s"
        )
    print(
        f"ratio ingest/raw: {raw_s / piped_s:.2f} (producer process), {raw_s / single_s:.2f} (one)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())

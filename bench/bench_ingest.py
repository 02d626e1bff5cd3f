"""Rows/s from an SSD CSV export to the real broker, beside a raw producer in the same run.

``python bench/bench_ingest.py [--rows 100000] [--compression lz4,gzip,none] [--runs 1]``

Writes a demo authority with about ``--rows`` SSD rows, starts the embedded broker (Tansu),
then times, in one run on the same machine:
- ingest: ``casewatch ingest ssd`` as a function (read and check every row, link
  identities, diff against an empty state, build and serialise the events, publish with
  acks=all and idempotence, wait for every acknowledgement, commit the state), as the CLI
  runs it (producer in a child process, fed while the export is read) and in one process;
- raw: a plain kafka-python producer with the same settings (``PRODUCER_CONFIG`` with the
  same compression) sending the very same (key, value) bytes, already serialised, with
  ``send(topic, key=, value=)``, and waiting for every acknowledgement;
- raw, partition per key: the same, passing the partition Kafka's default partitioner gives
  each key, computed once per key (what ingest's producers do; not the baseline, shown so
  that the part of the gain that is kafka-python's pure-Python murmur2 is visible);
- raw, fastest loop: that, with collections as rare as in ingest's producer process (the
  heap frozen, thresholds raised): the fastest kafka-python publishing this bench knows,
  i.e. the ceiling of any ingest that publishes with kafka-python on this machine;
- a re-run of the ingest (every fact unchanged: publishes nothing).
Prints rows/s and messages/s and the ratios ingest/raw. ``--runs N`` repeats the lines in
one broker (the machine is shared: compare within a run). Figures go to bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import gc
import io
import os
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
from services.ingest.demo.authority import write_demo_export
from services.ingest.pipeline import Keep, ProducerProcess, collect_rarely
from services.ingest.publisher import PRODUCER_CONFIG, EventPublisher, KeyPartitioner
from services.ingest.runner import IngestOptions, Producer, run_ingest
from services.ingest.ssd.adapter import read_ssd_export
from services.runtime.broker import EmbeddedBroker, ensure_topics
from services.runtime.settings import Settings

TODAY = date(2026, 11, 23)
ROWS_PER_CHILD = 7.2  # the demo authority's SSD rows per child, roughly


def raw_send(
    bootstrap: str,
    topic: str,
    records: list[tuple[bytes, bytes]],
    config: dict,
    by_key: bool = False,
    rare_collections: bool = False,
) -> float:
    producer = KafkaProducer(bootstrap_servers=bootstrap, client_id="bench-raw", **config)
    producer.partitions_for(topic)  # metadata, as ingest's child has it before the export is read
    thresholds = gc.get_threshold()
    if rare_collections:
        collect_rarely()  # as ingest's producer process runs
    started = time.perf_counter()
    if by_key:
        partition = KeyPartitioner(producer, topic)
        futures = [producer.send(topic, key=k, value=v, partition=partition(k)) for k, v in records]
    else:
        futures = [producer.send(topic, key=k, value=v) for k, v in records]
    producer.flush()
    assert all(f.succeeded() for f in futures)
    elapsed = time.perf_counter() - started
    gc.set_threshold(*thresholds)
    gc.unfreeze()
    producer.close()
    return elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument(
        "--compression",
        default=PRODUCER_CONFIG["compression_type"] or "none",
        help="gzip, lz4 or none, or several separated by commas (each measured in turn)",
    )
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--no-one-process", action="store_true", help="skip that line")
    args = parser.parse_args()
    codecs = args.compression.split(",")
    assert set(codecs) <= {"gzip", "lz4", "none"}, codecs
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp)
        export = home / "export"
        children = int(args.rows / ROWS_PER_CHILD)
        write_demo_export(export, children=children, seed=7, today=TODAY, sen2=False, health=False)
        reading = read_ssd_export(export, secret="bench", extracted_at=datetime.now(UTC))
        rows, events = reading.rows_read, reading.events
        records = [(e.person_key.encode(), e.model_dump_json().encode()) for e in events]
        del reading, events
        n = len(records)
        print(f"{rows} SSD rows, {n} events", flush=True)
        with EmbeddedBroker(log_path=home / "broker.log") as broker:
            settings = Settings(kafka_bootstrap=broker.bootstrap, data_dir=home / "data")
            names, compacted = all_topics(settings)
            ensure_topics(broker.bootstrap, settings.partitions, names, compacted)
            options = IngestOptions(kind="ssd", path=export)
            topic = settings.topic_events

            def run(state: str, publisher: Callable[[Keep | None], Producer]) -> tuple[float, str]:
                ingest = IngestSettings(state_path=home / state)
                out = io.StringIO()
                started = time.perf_counter()
                code = run_ingest(
                    settings, options, ingest=ingest, publisher=publisher, out=out, err=out
                )
                elapsed = time.perf_counter() - started
                assert code == 0, out.getvalue()[-500:]
                return elapsed, out.getvalue().rstrip()

            def show(label: str, seconds: float) -> None:
                print(
                    f"  {label:<26} {seconds:6.2f} s {rows / seconds:9,.0f} rows/s"
                    f" {n / seconds:9,.0f} ev/s",
                    flush=True,
                )

            for number in range(1, args.runs + 1):
                for codec in codecs:
                    overrides = {"compression_type": None if codec == "none" else codec}
                    config = {**PRODUCER_CONFIG, **overrides}
                    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
                    print(f"run {number}, compression {codec} (load average {load})")
                    state = f"{codec}{number}"
                    piped_s, _ = run(
                        f"a{state}.sqlite",
                        lambda keep, o=overrides: ProducerProcess(
                            broker.bootstrap, topic, keep=keep, **o
                        ),
                    )
                    show("ingest, producer process", piped_s)
                    raw_s = raw_send(broker.bootstrap, topic, records, config)
                    show("raw kafka-python", raw_s)
                    keyed_s = raw_send(broker.bootstrap, topic, records, config, by_key=True)
                    show("raw, partition per key", keyed_s)
                    fastest_s = raw_send(
                        broker.bootstrap, topic, records, config, by_key=True, rare_collections=True
                    )
                    show("raw, fastest loop", fastest_s)
                    single = ""
                    if not args.no_one_process:
                        single_s, _ = run(
                            f"b{state}.sqlite",
                            lambda keep, o=overrides: EventPublisher(broker.bootstrap, topic, **o),
                        )
                        show("ingest, one process", single_s)
                        single = f", {raw_s / single_s:.2f} (one process)"
                    rerun_s, text = run(
                        f"a{state}.sqlite",
                        lambda keep, o=overrides: ProducerProcess(
                            broker.bootstrap, topic, keep=keep, **o
                        ),
                    )
                    assert text.endswith("; 0 events published"), text[-300:]
                    show("re-run, nothing new", rerun_s)
                    print(
                        f"  ratio ingest/raw: {raw_s / piped_s:.2f} (producer process){single};"
                        f" ingest/raw-partition-per-key: {keyed_s / piped_s:.2f};"
                        f" ceiling (fastest loop) {rows / fastest_s:,.0f} rows/s",
                        flush=True,
                    )
    return 0


if __name__ == "__main__":
    sys.exit(main())

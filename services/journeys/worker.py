"""Wiring for ``casewatch worker``: the only place that knows faust, the clock and metrics."""

from __future__ import annotations

import logging

import faust
from prometheus_client import CollectorRegistry, start_http_server

from services.journeys.app import create_app
from services.runtime.clock import clock_for
from services.runtime.files import private_dir
from services.runtime.logs import install_no_data
from services.runtime.settings import Settings

log = logging.getLogger(__name__)


def run_worker(settings: Settings) -> int:
    private_dir(settings.data_dir)
    registry = CollectorRegistry()
    start_http_server(
        settings.worker_web_port, addr=settings.worker_metrics_host, registry=registry
    )
    pack = settings.load_rule_pack()
    app = create_app(settings, clock=clock_for(settings.clock_date), pack=pack, registry=registry)
    log.info(
        "journeys worker: broker %s, %s partitions, metrics on :%s, rule pack %s",
        settings.kafka_bootstrap,
        settings.partitions,
        settings.worker_web_port,
        pack.version,
    )
    worker = Worker(app, loglevel=settings.log_level.lower(), quiet=True)
    worker.execute_from_commandline()
    return 0


class Worker(faust.Worker):
    def on_setup_root_logger(self, logger: logging.Logger, level: int) -> None:
        super().on_setup_root_logger(logger, level)
        install_no_data(logger)  # no message contents at INFO and above (runtime.logs)

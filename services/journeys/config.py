"""Tuning of the journeys worker, read once at start from ``CASEWATCH_WORKER_*`` variables.

The shared settings (``services.runtime.settings``) name the topics, the store and the clock
cadence; these are the worker's own knobs. Defaults were measured on a 2-vCPU machine against
the embedded broker (bench/RESULTS.md).
"""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class WorkerTuning(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CASEWATCH_WORKER_", extra="ignore")

    batch_max: int = Field(
        default=20_000,
        ge=1,
        description="events folded per batch (one table write per journey and batch)",
    )
    batch_within: float = Field(
        default=1.0,
        gt=0,
        description=(
            "seconds to wait for a batch to fill before folding it, while a partition is"
            " behind by more than a batch (a replay)"
        ),
    )
    batch_within_live: float = Field(
        default=0.1,
        gt=0,
        description="the same wait when no partition is behind: what a live event waits",
    )
    future_tolerance_seconds: float = Field(
        default=86_400.0,
        ge=0,
        description=(
            "events recorded (or, stating no scheduled date, occurring) later than wall time"
            " plus this go to the DLQ"
        ),
    )
    tick_budget_seconds: float = Field(
        default=0.04, gt=0, description="evaluation time one clock tick may spend; the rest waits"
    )
    cache_journeys: int = Field(
        default=10_000, ge=0, description="decoded journeys kept in memory (LRU): ~4-20 KB each"
    )
    fetch_max_bytes: int = Field(
        default=4 * 1024 * 1024, description="consumer fetch size per partition, bytes"
    )
    fetch_max_wait_ms: int = Field(
        default=100,
        ge=1,
        description=(
            "longest a fetch waits at the broker for records (faust's 1,500 ms: Tansu answers"
            " a steadily fed fetch only after about half of it)"
        ),
    )
    stream_buffer: int = Field(
        default=8192, description="messages buffered per partition before flow control"
    )
    rocksdb_write_buffer: int = Field(
        default=8 * 1024 * 1024, description="RocksDB memtable size per partition, bytes"
    )
    rocksdb_block_cache: int = Field(
        default=32 * 1024 * 1024, description="RocksDB block cache per partition, bytes"
    )

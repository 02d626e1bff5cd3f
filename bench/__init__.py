"""Benchmarks with their recorded results (RESULTS.md). Each script runs as a file
(`.venv/bin/python bench/bench_worker.py`) or as a module (`python -m bench.bench_worker`)."""

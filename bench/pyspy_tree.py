"""Inclusive time per call path from ``py-spy record --format raw`` output, as an indented tree.

.venv/bin/python bench/pyspy_tree.py var/bench/worker/worker.pyspy.txt [--depth 12]
"""

from __future__ import annotations

import argparse
from collections import Counter, defaultdict
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("profile", type=Path)
    parser.add_argument("--depth", type=int, default=12)
    parser.add_argument("--min", type=float, default=1.0, help="hide paths below this %%")
    args = parser.parse_args()
    children: dict[tuple[str, ...], Counter[str]] = defaultdict(Counter)
    total = 0
    for line in args.profile.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        frames = stack.split(";")
        total += int(count)
        for depth in range(len(frames)):
            children[tuple(frames[:depth])][frames[depth]] += int(count)

    def show(path: tuple[str, ...]) -> None:
        if len(path) > args.depth:
            return
        for child, n in children[path].most_common():
            if 100 * n / total < args.min:
                break
            print(f"{'  ' * len(path)}{100 * n / total:5.1f}% {child}")
            show((*path, child))

    show(())


if __name__ == "__main__":
    main()

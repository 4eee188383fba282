"""Run every benchmark in tests/bench/ and print one line each: ``<name>: <figure> (goal <goal>)``.

Each ``bench_*.py`` module exposes ``bench() -> list[BenchLine]``. Speedups are ratios against a
baseline measured in the same run, because these machines are noisy. ``--only NAME`` filters.
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1]))

from tests.bench.lines import BenchLine  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--only", action="append", default=[], help="run only modules whose name contains this")
    args = parser.parse_args(argv)
    failures = 0
    for path in sorted(HERE.glob("bench_*.py")):
        if args.only and not any(word in path.stem for word in args.only):
            continue
        spec = importlib.util.spec_from_file_location(f"tests.bench.{path.stem}", path)
        module = importlib.util.module_from_spec(spec)
        assert spec.loader is not None
        started = time.perf_counter()
        try:
            spec.loader.exec_module(module)
            lines: list[BenchLine] = module.bench()
        except Exception as exc:  # noqa: BLE001 - one broken benchmark must not hide the others
            print(f"{path.stem}: ERROR {type(exc).__name__}: {exc}", flush=True)
            failures += 1
            continue
        for line in lines:
            print(line.render(), flush=True)
        print(f"  ({path.stem} took {time.perf_counter() - started:.1f} s)", file=sys.stderr, flush=True)
    return 1 if failures else 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Run every benchmark in tests/bench/ and print one line each: ``<name>: <figure> (goal <goal>)``.

Each ``bench_*.py`` module exposes ``bench() -> list[BenchLine]``. Speedups are ratios against a
baseline measured in the same run, because these machines are noisy. ``--only NAME`` filters.

Each module runs in a fresh Python process: what one benchmark leaves behind (thread pools of
ONNX Runtime or DuckDB, a PostgreSQL client, imported modules, a warm cache) must not tilt the
next one's figure. In one process the concurrency figure came out ~5% lower after the others ran.
"""

from __future__ import annotations

import argparse
import importlib.util
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1]))

from tests.bench.lines import BenchLine  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--only", action="append", default=[], help="run only modules whose name contains this")
    parser.add_argument("--module", help=argparse.SUPPRESS)  # the child: run this one module here
    args = parser.parse_args(argv)
    if args.module:
        return run_module(Path(args.module))
    failures = 0
    for path in sorted(HERE.glob("bench_*.py")):
        if args.only and not any(word in path.stem for word in args.only):
            continue
        started = time.perf_counter()
        child = subprocess.run([sys.executable, str(Path(__file__).resolve()), "--module", str(path)], check=False)
        if child.returncode != 0:
            failures += 1
        print(f"  ({path.stem} took {time.perf_counter() - started:.1f} s)", file=sys.stderr, flush=True)
    return 1 if failures else 0


def run_module(path: Path) -> int:
    """Run one ``bench_*.py`` and print its lines; exit status 1 when it broke."""
    spec = importlib.util.spec_from_file_location(f"tests.bench.{path.stem}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(module)
        lines: list[BenchLine] = module.bench()
    except Exception as exc:  # noqa: BLE001 - one broken benchmark must not hide the others
        print(f"{path.stem}: ERROR {type(exc).__name__}: {exc}", flush=True)
        return 1
    for line in lines:
        print(line.render(), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Run every benchmark, one process each: ``python -m tests.perf`` (from the repository root)."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
BENCHMARKS = ("bench_post.py", "bench_cycle.py")


def main() -> int:
    worst = 0
    for name in BENCHMARKS:
        started = time.perf_counter()
        try:
            code = subprocess.call([sys.executable, str(HERE / name)])
        except KeyboardInterrupt:
            return 130
        print(f"-- {name}: exit {code} in {time.perf_counter() - started:.1f}s\n", flush=True)
        worst = max(worst, code)
    return worst


if __name__ == "__main__":
    sys.exit(main())

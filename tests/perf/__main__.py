"""Run every benchmark, one process each: ``python -m tests.perf`` (from the repository root)."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
BENCHMARKS = ("bench_post.py", "bench_cycle.py", "bench_catalog.py", "bench_ranking.py", "bench_chat.py")


def run(script: Path) -> int:
    """Run one benchmark; on Ctrl-C or SIGTERM let it stop what it started instead of killing it outright."""
    process = subprocess.Popen([sys.executable, str(script)])
    try:
        return process.wait()
    except (KeyboardInterrupt, SystemExit):
        try:  # a Ctrl-C in a terminal reached the benchmark too: give it time to clean up on its own
            process.wait(timeout=2)
        except subprocess.TimeoutExpired:
            process.terminate()  # the benchmark turns SIGTERM into an orderly exit
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        raise


def main() -> int:
    def on_sigterm(signum: int, frame: object) -> None:
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, on_sigterm)
    worst = 0
    for name in BENCHMARKS:
        started = time.perf_counter()
        try:
            code = run(HERE / name)
        except KeyboardInterrupt:
            return 130
        print(f"-- {name}: exit {code} in {time.perf_counter() - started:.1f}s\n", flush=True)
        worst = max(worst, code)
    return worst


if __name__ == "__main__":
    sys.exit(main())

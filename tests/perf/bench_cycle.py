"""Empty weekly cycle on real RQ workers, against the same DAG of no-op RQ jobs on the same workers.

Run: ``python tests/perf/bench_cycle.py`` (or both benchmarks: ``python -m tests.perf``). Starts a private
redis-server and two ``improve worker`` processes, times ``Conductor.drive`` for K weekly cycles (each a different
ISO week via the pinned clock) and K raw-RQ baselines, prints medians, the overhead and the ratio (target: an empty
cycle under 1 s) and exits 0; it exits 1 only when a cycle or a baseline does not complete.
"""

from __future__ import annotations

import inspect
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

if not __package__:  # run as a script: make `tests.perf` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import redis  # noqa: E402
from rq import Queue, Worker  # noqa: E402
from rq.job import Dependency, Job, JobStatus  # noqa: E402

from blackboard.keys import DEFAULT_PREFIX  # noqa: E402
from tests.perf._redis import (  # noqa: E402
    PrivateRedis,
    log_tail,
    median,
    private_redis,
    run_benchmark,
    sigterm_as_exit,
    stop_process,
)
from workers.conductor import Conductor  # noqa: E402
from workers.dag import QUEUES, steps_for  # noqa: E402
from workers.runtime import opened  # noqa: E402
from workers.settings import Settings  # noqa: E402
from workers.trigger import job_id, wanted_cycle  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
K = 5
WARMUP = 1
WORKERS = 2
TARGET_SECONDS = 1.0
FIRST_WEEK = datetime(2026, 1, 4, 3, 0, tzinfo=UTC)
CYCLE_TIMEOUT = 30.0
BASELINE_POLL = 0.01
NOOP = "tests.perf.noop.noop"
DONE = {JobStatus.FINISHED, JobStatus.FAILED, JobStatus.STOPPED, JobStatus.CANCELED}
# Environment a developer may have set that would change what the workers (or the conductor) do.
SCRUBBED = ("REDIS_URL", "IMPROVE_NOW", "IMPROVE_KEY_PREFIX", "IMPROVE_STEP_OVERRIDES", "IMPROVE_CONFIG",
            "IMPROVE_STATE_DIR", "IMPROVE_REPORT_DIR", "IMPROVE_EMBEDDED")


class BenchmarkFailed(RuntimeError):
    pass


@dataclass
class Run:
    seconds: float
    jobs_busy: float  # summed ended_at - started_at of the 7 jobs (time inside work horses)
    tail: float  # last job's ended_at -> the caller saw the end


def week(index: int) -> datetime:
    return FIRST_WEEK + timedelta(days=7 * index)


def worker_command() -> list[str]:
    script = Path(sys.executable).with_name("improve")
    return [str(script)] if script.exists() else [sys.executable, "-m", "workers.cli"]


def worker_env(server: PrivateRedis, tmp: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in SCRUBBED}
    env.update(REDIS_URL=server.url, IMPROVE_STATE_DIR=str(tmp / "state"), IMPROVE_REPORT_DIR=str(tmp / "reports"),
               IMPROVE_CONFIG=str(tmp / "no-improve.toml"), IMPROVE_KEY_PREFIX=DEFAULT_PREFIX,
               OPENROUTER_BASE_URL="http://127.0.0.1:9/api/v1", HF_ENDPOINT="http://127.0.0.1:9",
               IMPROVE_HTTP_ATTEMPTS="1", IMPROVE_HF_TASKS='["text-generation"]',
               IMPROVE_STEP_OVERRIDES=json.dumps({"catalog_sync": "tests.perf.noop:noop_step",
                                                  "research_scan": "tests.perf.noop:noop_step"}),
               PYTHONPATH=os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH", "")) if p))
    return env


@contextmanager
def running_workers(server: PrivateRedis, tmp: Path, count: int) -> Iterator[list[subprocess.Popen[bytes]]]:
    """Start ``count`` `improve worker` processes on every queue; SIGTERM them and wait on the way out."""
    env = worker_env(server, tmp)
    processes: list[subprocess.Popen[bytes]] = []
    logs: list[Path] = []
    try:
        for i in range(count):
            log = tmp / f"worker-{i + 1}.log"
            logs.append(log)
            with open(log, "wb") as handle:
                processes.append(subprocess.Popen(
                    [*worker_command(), "worker", "--queues", ",".join(QUEUES),
                     "--name", f"perf-{os.getpid()}-{i + 1}"],
                    cwd=tmp, env=env, stdin=subprocess.DEVNULL, stdout=handle, stderr=subprocess.STDOUT,
                    start_new_session=True))
        client = server.client()
        try:
            deadline = time.monotonic() + 30
            while len(Worker.all(connection=client)) < count:
                for process, log in zip(processes, logs, strict=True):
                    if process.poll() is not None:
                        raise BenchmarkFailed(f"worker exited with {process.returncode}:\n{log_tail(log)}")
                if time.monotonic() > deadline:
                    raise BenchmarkFailed("workers did not register within 30 s")
                time.sleep(0.05)
        finally:
            client.close()
        yield processes
    finally:
        for process in processes:
            if process.poll() is None:
                process.terminate()
        for process in processes:
            stop_process(process, timeout=15)


def job_times(client: redis.Redis, ids: Sequence[str], seen_end: float) -> tuple[float, float]:
    jobs = [job for job in Job.fetch_many(list(ids), connection=client) if job is not None]
    busy = sum((j.ended_at - j.started_at).total_seconds() for j in jobs if j.ended_at and j.started_at)
    ends = [j.ended_at.replace(tzinfo=UTC).timestamp() for j in jobs if j.ended_at]
    return busy, (seen_end - max(ends)) if ends else float("nan")


def our_cycle(server: PrivateRedis, tmp: Path, index: int, poll: float | None) -> tuple[Run, dict[str, str]]:
    settings = Settings(redis_url=server.url, state_dir=tmp / "state", report_dir=tmp / "reports",
                        now=week(index), key_prefix=DEFAULT_PREFIX,
                        step_overrides={"catalog_sync": "tests.perf.noop:noop_step",
                                        "research_scan": "tests.perf.noop:noop_step"},
                        openrouter_base_url="http://127.0.0.1:9/api/v1", hf_endpoint="http://127.0.0.1:9",
                        hf_tasks=["text-generation"], http_attempts=1)
    with opened(settings) as runtime:
        wanted = wanted_cycle(runtime, "weekly")
        conductor = Conductor(runtime) if poll is None else Conductor(runtime, poll=poll)
        started = time.perf_counter()
        outcome = conductor.drive(wanted, "workers", CYCLE_TIMEOUT)
        seconds = time.perf_counter() - started
        seen_end = time.time()
        record = outcome.record
        if record.finished_at is None or outcome.action != "started":
            raise BenchmarkFailed(f"cycle {wanted.cycle_id}: action {outcome.action}, finished {record.finished_at}")
        statuses = {e.step: e.status.value for e in outcome.events if e.status.value != "started"}
        ids = [job_id(record.cycle_id, record.run, step.name) for step in steps_for("weekly")]
        busy, tail = job_times(runtime.connections.rq, ids, seen_end)
    return Run(seconds, busy, tail), statuses


def baseline_cycle(client: redis.Redis, queues: dict[str, Queue], tag: str) -> Run:
    """The weekly DAG's shape as 7 no-op jobs: 3 parallel -> plan -> upgrade -> verify -> report."""
    ids: dict[str, str] = {}
    started = time.perf_counter()
    last: Job | None = None
    for step in steps_for("weekly"):
        parents = [ids[name] for name in step.needs]
        last = queues[step.queue].enqueue_call(
            NOOP, args=(step.name,), job_id=f"{tag}-{step.name}",
            depends_on=Dependency(jobs=parents, allow_failure=True) if parents else None)
        ids[step.name] = last.id
    assert last is not None
    deadline = time.monotonic() + CYCLE_TIMEOUT
    while (status := last.get_status(refresh=True)) not in DONE:
        if time.monotonic() > deadline:
            raise BenchmarkFailed(f"baseline {tag} did not finish in {CYCLE_TIMEOUT} s (last job {status})")
        time.sleep(BASELINE_POLL)
    seconds = time.perf_counter() - started
    seen_end = time.time()
    if status != JobStatus.FINISHED:
        raise BenchmarkFailed(f"baseline {tag}: last job ended {status}")
    busy, tail = job_times(client, list(ids.values()), seen_end)
    return Run(seconds, busy, tail)


def summary(name: str, runs: Sequence[Run]) -> str:
    values = " ".join(f"{r.seconds:.3f}" for r in runs)
    return (f"{name:<38} median {median([r.seconds for r in runs]):.3f}s  [{values}]  "
            f"jobs busy {median([r.jobs_busy for r in runs]):.3f}s, tail {median([r.tail for r in runs]):.3f}s")


def main() -> int:
    sigterm_as_exit()
    print(f"== empty weekly cycle on {WORKERS} real workers: K={K} (+{WARMUP} warm-up) per series ==", flush=True)
    ours: list[Run] = []
    ours_fast: list[Run] = []
    base: list[Run] = []
    poll_default = inspect.signature(Conductor).parameters["poll"].default  # what `improve run` uses
    with ExitStack() as stack:
        tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="improve-perf-cycle-")))
        server = stack.enter_context(private_redis())
        try:
            started = time.perf_counter()
            stack.enter_context(running_workers(server, tmp, WORKERS))
            print(f"private redis-server {server.url}; {WORKERS} workers registered in "
                  f"{time.perf_counter() - started:.2f}s", flush=True)
            client = server.client()
            stack.callback(client.close)
            queues = {name: Queue(name, connection=client) for name in QUEUES}
            statuses: dict[str, str] = {}
            for i in range(WARMUP + K):  # interleaved, so drift on a busy machine hits every series alike
                run, statuses = our_cycle(server, tmp, i, None)
                fast, _ = our_cycle(server, tmp, 100 + i, 0.01)
                raw = baseline_cycle(client, queues, f"perf-base-{i}")
                if i >= WARMUP:
                    ours.append(run)
                    ours_fast.append(fast)
                    base.append(raw)
                label = "warm-up" if i < WARMUP else f"cycle {i - WARMUP + 1}"
                print(f"  {label}: ours {run.seconds:.3f}s, ours(poll 10 ms) {fast.seconds:.3f}s, "
                      f"raw RQ {raw.seconds:.3f}s", flush=True)
            print("  step outcomes: " + ", ".join(f"{k}={v}" for k, v in statuses.items()))
        except BenchmarkFailed as exc:
            print(f"BENCHMARK FAILED: {exc}", flush=True)
            return 1

    ours_s, fast_s, base_s = (median([r.seconds for r in runs]) for runs in (ours, ours_fast, base))
    print(summary(f"ours: Conductor.drive (poll {poll_default}s)", ours))
    print(summary("ours: Conductor.drive (poll 0.01s)", ours_fast))
    print(summary(f"baseline: 7 no-op RQ jobs (poll {BASELINE_POLL}s)", base))
    print(f"overhead ours - baseline = {ours_s - base_s:+.3f}s, ratio ours/baseline = {ours_s / base_s:.2f}")
    print(f"overhead with 10 ms conductor poll = {fast_s - base_s:+.3f}s, ratio = {fast_s / base_s:.2f}")
    print(f"empty-cycle wall time {ours_s:.3f}s (target < {TARGET_SECONDS:.0f} s: "
          f"{'MEETS' if ours_s < TARGET_SECONDS else 'MISSES'})")
    return 0


if __name__ == "__main__":
    run_benchmark(main)

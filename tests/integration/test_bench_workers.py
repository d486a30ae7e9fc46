"""The benchmark agent on real Redis and real worker processes, against the loopback model server: a run shared by
two benchmark workers, a benchmark worker killed mid-run, and `improve bench` end to end."""

from __future__ import annotations

import contextlib
import os
import signal
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from blackboard.entries import Measurement
from blackboard.keys import Keys
from blackboard.runs import BenchRuns
from workers.connection import from_url
from workers.model_fake import FakeModels, Profile
from workers.sandbox import LoopbackServer

from .conftest import Cluster, last_json, wait_until

pytestmark = pytest.mark.integration
MODELS = "lab/alpha-1,lab/beta-2"


@pytest.fixture
def model_server() -> Iterator[tuple[FakeModels, str]]:
    fake = FakeModels({"*": Profile(latency=0.05)})
    with LoopbackServer({}, fake.handle, keep_alive=True) as server:
        yield fake, server.url + "/v1"


def bench_env(cluster: Cluster, url: str, **extra: str) -> None:
    cluster.override_steps(catalog_sync="sleeper", research_scan="sleeper")
    cluster.env_overrides.update({
        "FIXTURE_SLEEP": "0", "BENCH_BASE_URL": url, "IMPROVE_BENCH_MODELS": MODELS,
        "IMPROVE_BENCH_CATEGORIES": "math,factual", "IMPROVE_BENCH_CHUNK": "5", "IMPROVE_BENCH_CONCURRENCY": "4",
        **extra})


def records(cluster: Cluster, run_id: str) -> list[dict[str, object]]:
    connections = from_url(cluster.redis_url)
    try:
        return BenchRuns(connections.board, Keys(cluster.prefix)).records(run_id)
    finally:
        connections.close()


def test_two_benchmark_workers_share_the_weekly_run(cluster: Cluster,
                                                    model_server: tuple[FakeModels, str]) -> None:
    fake, url = model_server
    bench_env(cluster, url, IMPROVE_BENCH_SHARDS="2")
    cluster.start_worker("bench-1", "benchmark")
    cluster.start_worker("bench-2", "benchmark")
    cluster.start_worker("rest", "catalog,research,planning,upgrade,report")
    cluster.wait_for_workers(3)
    result = cluster.improve("run", "--mode", "workers", "--json", timeout=180)
    assert result.returncode == 0, result.stderr
    data = last_json(result.stdout)
    assert data["steps"]["benchmark_pre"]["status"] == "succeeded", data["steps"]
    found = records(cluster, "2026-W47:pre")
    cases = {(r["model"], r["case_id"]) for r in found}
    assert len(found) == len(cases) == fake.requests and len(found) >= 2 * 40
    assert len({r["worker"] for r in found}) == 2  # both benchmark workers answered cases
    connections = from_url(cluster.redis_url)
    try:
        from workers.runtime import Runtime
        from workers.settings import Settings

        runtime = Runtime(Settings(key_prefix=cluster.prefix), connections)  # type: ignore[call-arg]
        measured = [e for e in runtime.board.read_cycle("2026-W47") if isinstance(e, Measurement)]
        overall = {m.model: m for m in measured if m.category == "overall" and m.metric == "score"}
        assert set(overall) == set(MODELS.split(",")) and all(m.samples == len(found) // 2 for m in overall.values())
    finally:
        connections.close()


def test_a_benchmark_worker_killed_mid_run_is_taken_over(cluster: Cluster,
                                                         model_server: tuple[FakeModels, str]) -> None:
    fake, url = model_server
    fake.profiles["*"] = Profile(latency=0.25)
    bench_env(cluster, url, IMPROVE_BENCH_CONCURRENCY="2")
    victim = cluster.start_worker("victim", "benchmark")
    cluster.start_worker("rest", "catalog,research,planning,upgrade,report")
    cluster.wait_for_workers(2)
    running = cluster.improve_background("run", "--mode", "workers", "--json")
    wait_until(lambda: len(records(cluster, "2026-W47:pre")) >= 6, 60, "some cases answered")
    horses = {int(str(r["worker"]).rsplit(":", 1)[1]) for r in records(cluster, "2026-W47:pre")}
    os.killpg(victim.pid, signal.SIGKILL)  # the worker, and the work horse RQ forked for the step (its own session)
    for pid in horses:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    victim.wait()
    answered = len(records(cluster, "2026-W47:pre"))
    fake.profiles["*"] = Profile(latency=0.01)
    cluster.start_worker("rescuer", "benchmark")
    output, errors = running.communicate(timeout=240)
    data = last_json(output)
    assert data["steps"]["benchmark_pre"]["status"] == "succeeded", errors
    found = records(cluster, "2026-W47:pre")
    assert len(found) == len({(r["model"], r["case_id"]) for r in found}) >= 80
    assert answered < len(found)
    assert fake.requests <= len(found) + 2 * 2  # only what was in flight when the worker died is asked twice
    assert len({r["worker"] for r in found}) == 2  # the victim's answers were kept, the rescuer did the rest


def test_improve_bench_json(cluster: Cluster, model_server: tuple[FakeModels, str], tmp_path: Path) -> None:
    fake, url = model_server
    fake.profiles["*"] = Profile(latency=0.0)
    result = cluster.improve("bench", "--models", MODELS, "--categories", "math", "--json", BENCH_BASE_URL=url)
    assert result.returncode == 0, result.stderr
    data = last_json(result.stdout)
    assert data["run_id"].startswith("bench-") and data["invalid"] is False and data["regressions"] == []
    for model in MODELS.split(","):
        shown = data["models"][model]
        assert {"overall", "pass_rate", "latency_mean", "latency_p95", "categories"} <= set(shown)
        assert set(shown["categories"]) == {"math"} and 0 <= shown["overall"] <= 1
    broken = tmp_path / "broken.jsonl"
    broken.write_text('{"id": "x", "category": "math", "prompt": "1+1?", "target": "2", "scorer": "numeric"}\n{"id"')
    bad = cluster.improve("bench", "--models", "lab/alpha-1", "--suite", str(broken), BENCH_BASE_URL=url)
    assert bad.returncode == 2 and "broken.jsonl:2" in bad.stderr and "Traceback" not in bad.stderr


def test_a_benchmark_resumes_after_a_redis_restart(private_redis: Any, tmp_path: Path,
                                                    model_server: tuple[FakeModels, str]) -> None:
    """Redis (with AOF) goes away mid-run: the command fails plainly; run again, it asks only what was missing."""
    import redis as redis_client

    fake, url = model_server
    fake.profiles["*"] = Profile(latency=0.1)
    cluster = Cluster(private_redis.url, tmp_path)
    args = ("bench", "--models", "lab/alpha-1", "--categories", "math,factual", "--run-id", "restart-run", "--json")
    running = cluster.improve_background(*args, BENCH_BASE_URL=url, IMPROVE_BENCH_CONCURRENCY="1")
    wait_until(lambda: len(records(cluster, "restart-run")) >= 5, 60, "some answers before the restart")
    private_redis.shutdown()
    _, errors = running.communicate(timeout=120)
    assert running.returncode == 1 and "Traceback" not in errors, errors  # one clear line, no traceback
    private_redis.start()
    kept = len(records(cluster, "restart-run"))
    assert kept >= 5  # the AOF kept what was answered before the restart
    asked = fake.requests
    fake.profiles["*"] = Profile(latency=0.0)
    again = cluster.improve(*args, BENCH_BASE_URL=url)
    assert again.returncode == 0, again.stderr
    found = records(cluster, "restart-run")
    assert len(found) == len({r["case_id"] for r in found}) >= 40
    assert fake.requests - asked == len(found) - kept  # nothing answered before was asked again
    assert last_json(again.stdout)["models"]["lab/alpha-1"]["cases"] == len(found)
    redis_client.Redis.from_url(private_redis.url).close()

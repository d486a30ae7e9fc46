"""The weekly cycle on real `rq worker` processes: parallel steps, a killed worker, double triggers, failures."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest
import redis
from rq import Queue
from rq.registry import DeferredJobRegistry, FailedJobRegistry, StartedJobRegistry

from blackboard.entries import Finding, StepStatus
from tests.conftest import NO_ARXIV, NO_FEED, NO_HUB, NO_UPSTREAM
from workers.conductor import Conductor
from workers.dag import QUEUES
from workers.runtime import opened
from workers.settings import Settings
from workers.trigger import trigger, wanted_cycle

from .conftest import Cluster, last_json, wait_until

pytestmark = pytest.mark.integration


def settings_for(cluster: Cluster) -> Settings:
    env = cluster.env()
    return Settings(redis_url=cluster.redis_url, key_prefix=cluster.prefix, lease_seconds=2.0,
                    state_dir=Path(env["IMPROVE_STATE_DIR"]), report_dir=Path(env["IMPROVE_REPORT_DIR"]),
                    now=env["IMPROVE_NOW"], step_overrides={}, openrouter_base_url=NO_UPSTREAM, hf_endpoint=NO_HUB,
                    arxiv_api_url=NO_ARXIV, research_feeds=[NO_FEED], arxiv_delay=0.0,
                    research_dir=cluster.tmp_path / "research", http_attempts=1)  # type: ignore[arg-type]


def nothing_stranded(client: redis.Redis) -> None:
    for name in QUEUES:
        assert DeferredJobRegistry(name, connection=client).count == 0, f"deferred jobs left on {name}"
        assert StartedJobRegistry(name, connection=client).count == 0, f"started jobs left on {name}"
        assert Queue(name, connection=client).count == 0, f"queued jobs left on {name}"


def test_weekly_dag_on_two_workers_runs_parallel_steps(cluster: Cluster) -> None:
    cluster.override_steps(catalog_sync="sleeper", research_scan="sleeper", benchmark_pre="sleeper")
    cluster.env_overrides["FIXTURE_SLEEP"] = "1.5"
    cluster.start_worker("w1")
    cluster.start_worker("w2", plain_rq=True)  # plain `rq worker` with the same settings works too
    cluster.wait_for_workers(2)
    result = cluster.improve("run", "--mode", "workers", "--json")
    assert result.returncode == 0, result.stderr
    data = last_json(result.stdout)
    assert data["cycle_id"] == "2026-W47" and data["mode"] == "workers"
    assert [data["steps"][s]["status"] for s in ("catalog_sync", "research_scan", "benchmark_pre", "report")] == [
        "succeeded", "succeeded", "succeeded", "succeeded"]
    with opened(settings_for(cluster)) as runtime:
        spans = {e.step: (e.summary["started"], e.summary["ended"])
                 for e in runtime.board.read_cycle("2026-W47", kinds=["cycle_event"])
                 if e.status == StepStatus.SUCCEEDED and "started" in e.summary}  # type: ignore[attr-defined]
        overlapping = [(a, b) for a in spans for b in spans
                       if a < b and spans[a][0] < spans[b][1] and spans[b][0] < spans[a][1]]
        assert overlapping, f"no two parallel steps overlapped: {spans}"
        nothing_stranded(runtime.connections.rq)
    assert Path(data["report_path"]).exists()


def test_worker_killed_mid_step_loses_nothing_and_duplicates_nothing(cluster: Cluster) -> None:
    cluster.override_steps(research_scan="findings")
    cluster.env_overrides.update(FIXTURE_FINDINGS="30", FIXTURE_DELAY="0.1")
    victim = cluster.start_worker("victim")
    cluster.wait_for_workers(1)
    with opened(settings_for(cluster)) as runtime:
        runtime.settings.step_overrides.update({"research_scan": "tests.fixture_steps:findings"})
        wanted = wanted_cycle(runtime, "weekly")
        assert trigger(runtime, wanted, "workers").action == "started"
        wait_until(lambda: runtime.board.count("finding") >= 8, 30, "the step to post some findings")
        os.killpg(victim.pid, signal.SIGKILL)  # the worker and its work horse die mid-step
        victim.wait()
        posted_before = runtime.board.count("finding")
        assert 8 <= posted_before < 30
        cluster.start_worker("rescuer")
        outcome = Conductor(runtime).drive(wanted, "workers", timeout=90)
        record = outcome.record
        assert record.finished_at is not None and record.run == 1
        findings = runtime.board.read_cycle("2026-W47", kinds=["finding"])
        assert len(findings) == 30 == runtime.board.count("finding")  # none lost, none twice
        assert len({f.id for f in findings if isinstance(f, Finding)}) == 30
        outcomes = {e.step: e.status for e in outcome.events if e.status != StepStatus.STARTED}
        assert outcomes["research_scan"] == StepStatus.SUCCEEDED and outcomes["report"] == StepStatus.SUCCEEDED
        nothing_stranded(runtime.connections.rq)


def test_triggered_twice_and_while_running_starts_once(cluster: Cluster) -> None:
    cluster.override_steps(research_scan="sleeper")
    cluster.env_overrides["FIXTURE_SLEEP"] = "2"
    cluster.start_workers(2)
    together = [cluster.improve_background("run", "--mode", "workers", "--json") for _ in range(2)]
    wait_until(lambda: (cluster.tmp_path / "reports").exists() or all(p.poll() is not None for p in together)
               or _started(cluster), 30, "the cycle to start")
    late = cluster.improve("run", "--mode", "workers", "--json")  # while it runs
    outputs = [last_json(p.communicate(timeout=120)[0]) for p in together] + [last_json(late.stdout)]
    assert {o["cycle_id"] for o in outputs} == {"2026-W47"}
    assert sorted(o["action"] for o in outputs).count("started") == 1
    with opened(settings_for(cluster)) as runtime:
        events = runtime.board.read_cycle("2026-W47", kinds=["cycle_event"])
        assert len(events) == 14  # 7 steps, each started once and finished once
        record = runtime.cycles.get("2026-W47")
        assert record is not None and record.run == 1
    assert sorted(p.name for p in (cluster.tmp_path / "reports").iterdir()) == ["2026-11-22.json", "2026-11-22.md"]
    again = cluster.improve("run", "--mode", "workers", "--json")
    assert last_json(again.stdout)["action"] == "finished"


def _started(cluster: Cluster) -> bool:
    client = redis.Redis.from_url(cluster.redis_url)
    try:
        return bool(client.exists(f"{cluster.prefix}cycle:2026-W47"))
    finally:
        client.close()


def test_failed_step_does_not_hang_dependents(cluster: Cluster) -> None:
    cluster.override_steps(benchmark_pre="broken")
    cluster.env_overrides["IMPROVE_STEP_RETRIES"] = "1"
    cluster.start_workers(2)
    result = cluster.improve("run", "--mode", "workers", "--json", timeout=120)
    assert result.returncode == 0, result.stderr
    data = last_json(result.stdout)
    assert data["steps"]["benchmark_pre"]["status"] == "failed"
    # the planner plans from what arrived; nothing stays stranded
    assert data["steps"]["plan"]["status"] == "succeeded" and data["steps"]["report"]["status"] == "succeeded"
    assert data["safe"] is False and any("benchmark_pre failed" in r for r in data["reasons"])
    assert "sk-test-secret" not in result.stdout + result.stderr
    report = Path(data["report_path"]).read_text()
    assert "SAFE=false" in report.splitlines()[2] and "benchmark\\_pre failed" in report
    client = redis.Redis.from_url(cluster.redis_url)
    assert FailedJobRegistry("benchmark", connection=client).count == 1
    nothing_stranded(client)
    client.close()


def test_rq_calling_a_finished_step_abandoned_changes_nothing(cluster: Cluster,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    """rq 2.12 can leave a finished job in the started registry; its later 'abandoned' verdict must be harmless."""
    monkeypatch.setenv("IMPROVE_KEY_PREFIX", cluster.prefix)  # RQ runs the failure callback in this process
    cluster.start_workers(1)
    first = last_json(cluster.improve("run", "--mode", "workers", "--json").stdout)
    client = redis.Redis.from_url(cluster.redis_url)
    registry = StartedJobRegistry("report", connection=client)
    client.zadd(registry.key, {"improve-2026-W47-r1-report:stale-execution": 0})
    registry.cleanup()  # RQ: run the failure callback, then retry the "abandoned" job
    with opened(settings_for(cluster)) as runtime:
        assert runtime.board.count("cycle_event") == 14
        wait_until(lambda: Queue("report", connection=client).count == 0, 30, "the retried job to run")
        events = runtime.board.read_cycle("2026-W47", kinds=["cycle_event"])
        assert not [e for e in events if e.status == StepStatus.FAILED]  # type: ignore[attr-defined]
        record = runtime.cycles.get("2026-W47")
        assert record is not None and record.report_path == first["report_path"]
    again = last_json(cluster.improve("run", "--mode", "workers", "--json").stdout)
    assert again["action"] == "finished" and again["steps"]["report"]["status"] == "succeeded"
    client.close()

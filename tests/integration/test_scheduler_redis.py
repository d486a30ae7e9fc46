"""Schedules on a real Redis: once per period across schedulers and jobs, catch-up after downtime, status, SIGTERM."""

from __future__ import annotations

import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import redis
from rq import Queue
from rq.cron import CronScheduler, get_cron_job_ids

from tests.conftest import NO_ARXIV, NO_FEED, NO_HUB, NO_UPSTREAM
from workers import scheduler as scheduling
from workers.runtime import Runtime, opened
from workers.scheduler import ProjectScheduler, ScheduleBook, ScheduledRun, configured, run_schedule
from workers.schedules import make, period_label, period_of
from workers.settings import Settings
from workers.trigger import trigger, wanted_cycle

from .conftest import Cluster, last_json, wait_until

pytestmark = pytest.mark.integration
SUNDAY = "2026-11-22T03:00:00Z"  # the tick of week 47's weekly cycle
TUESDAY = "2026-11-24T10:00:00Z"  # week 48: the scheduler comes back after missing that Sunday
WEEKLY = "0 3 * * 0"


@contextmanager
def runtime_at(cluster: Cluster, now: str = SUNDAY, **overrides: Any) -> Iterator[Runtime]:
    values: dict[str, Any] = {
        "redis_url": cluster.redis_url, "key_prefix": cluster.prefix, "lease_seconds": 2.0, "now": now,
        "state_dir": cluster.tmp_path / "state", "report_dir": cluster.tmp_path / "reports",
        "research_dir": cluster.tmp_path / "research", "openrouter_base_url": NO_UPSTREAM, "hf_endpoint": NO_HUB,
        "arxiv_api_url": NO_ARXIV, "research_feeds": [NO_FEED], "arxiv_delay": 0.0, "http_attempts": 1,
        **overrides}
    with opened(Settings(**values)) as runtime:
        yield runtime


def queued(runtime: Runtime, name: str) -> int:
    return int(Queue(name, connection=runtime.connections.rq).count)


def stop(process: subprocess.Popen[str], timeout: float = 20) -> tuple[int, str]:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
    try:
        _, stderr = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        _, stderr = process.communicate()
    return process.returncode, stderr


def schedulers_alive(client: redis.Redis) -> int:
    return len(CronScheduler.all(client))


def test_two_jobs_in_one_period_start_the_cycle_once(cluster: Cluster) -> None:
    with runtime_at(cluster) as runtime:
        barrier, outcomes = threading.Barrier(2), []

        def job(holder: str) -> None:
            barrier.wait()
            outcomes.append(run_schedule(runtime, "weekly", WEEKLY, holder=holder))

        threads = [threading.Thread(target=job, args=(f"job-{i}",)) for i in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
        assert sorted(o.action for o in outcomes) == ["skipped_by_lock", "started"]
        assert {o.period for o in outcomes} == {"2026-11-22T03:00Z"}
        late = run_schedule(runtime, "weekly", WEEKLY, period="2026-11-22T03:00Z", holder="a catch-up")
        assert late.action == "skipped_by_lock"
        record = runtime.cycles.get("2026-W47")
        assert record is not None and record.run == 1
        assert [queued(runtime, q) for q in ("catalog", "research", "benchmark")] == [1, 1, 1]  # the DAG's roots once
        last = ScheduleBook(runtime).last("weekly")
        assert last["last_action"] == "started" and last["last_period"] == "2026-11-22T03:00Z"
        assert "2026-W47" in last["last_detail"]
        actions = [entry["action"] for entry in ScheduleBook(runtime).recent("weekly")]
        assert sorted(actions) == ["skipped_by_lock", "skipped_by_lock", "started"]


def test_two_schedulers_enqueue_a_tick_and_a_catch_up_once(cluster: Cluster) -> None:
    with runtime_at(cluster, now="2026-11-15T03:00:00Z") as before:
        ScheduleBook(before).record(ScheduledRun("weekly", "2026-11-15T03:00Z", "started", "week 46"), "test")
    with runtime_at(cluster, now=TUESDAY) as runtime:
        schedules = configured(runtime.settings)
        first, second = ProjectScheduler(runtime, schedules), ProjectScheduler(runtime, schedules)
        for cron in (first, second):
            cron.enqueue_jobs()  # a first pass: the missed Sunday is caught up by one of them
        assert queued(runtime, "planning") == 1
        due = datetime.now(UTC) - timedelta(seconds=1)  # the quick schedule's tick falls due in both (RQ's clock)
        for cron in (first, second):
            next(job for job in cron.get_jobs() if job.name == "improve-quick").next_enqueue_time = due
            cron.enqueue_jobs()
        quick = period_label(period_of(make("quick"), datetime.now(UTC)) or due)
        jobs = Queue("planning", connection=runtime.connections.rq).get_jobs()
        assert sorted(job.args for job in jobs) == [("0 */6 * * *", quick), (WEEKLY, "2026-11-22T03:00Z")]
        assert len(get_cron_job_ids("improve-weekly", runtime.connections.rq)) == 1


def test_a_manual_run_and_a_scheduled_run_start_nothing_twice(cluster: Cluster) -> None:
    cluster.override_steps(catalog_sync="sleeper", research_scan="sleeper", benchmark_pre="sleeper")
    cluster.env_overrides["FIXTURE_SLEEP"] = "1.5"
    cluster.start_workers(1)
    with runtime_at(cluster) as runtime:
        assert run_schedule(runtime, "weekly", WEEKLY, holder="tick").action == "started"
        manual = cluster.improve("run", "--mode", "workers", "--json")  # during the scheduled run
        assert manual.returncode == 0, manual.stderr
        data = last_json(manual.stdout)
        assert data["cycle_id"] == "2026-W47" and data["action"] == "running" and data["steps"]["report"]
        record = runtime.cycles.get("2026-W47")
        assert record is not None and record.run == 1 and record.finished_at is not None
    # week 48: `improve run` (in this process) runs when the Sunday tick comes; the tick job does nothing more
    with runtime_at(cluster, now="2026-11-29T03:00:00Z") as sunday:
        manual_first = trigger(sunday, wanted_cycle(sunday, "weekly"), "in-process")
        assert manual_first.action == "started" and manual_first.lease is not None
        outcome = run_schedule(sunday, "weekly", WEEKLY, holder="tick")
        assert outcome.action == "already_running" and "2026-W48" in outcome.detail
        manual_first.lease.release()
        record = sunday.cycles.get("2026-W48")
        assert record is not None and record.run == 1
    # week 49: a manual run finished on Saturday; Sunday's tick finds it finished (and it ended unsafe: still no)
    with runtime_at(cluster, now="2026-12-05T12:00:00Z") as saturday:
        manual_before = trigger(saturday, wanted_cycle(saturday, "weekly"), "in-process")
        assert manual_before.lease is not None
        manual_before.lease.release()
        saturday.cycles.finish("2026-W49", saturday.clock.now(), False, ["a step failed"], None)
    with runtime_at(cluster, now="2026-12-06T03:00:00Z") as sunday:
        outcome = run_schedule(sunday, "weekly", WEEKLY, holder="tick")
        assert outcome.action == "already_finished" and "2026-W49" in outcome.detail
        record = sunday.cycles.get("2026-W49")
        assert record is not None and record.run == 1
        assert ScheduleBook(sunday).last("weekly")["last_action"] == "already_finished"


def test_a_scheduler_down_over_a_sunday_catches_up_once(cluster: Cluster) -> None:
    client = redis.Redis.from_url(cluster.redis_url)
    with runtime_at(cluster, now="2026-11-15T03:00:00Z") as before:
        ScheduleBook(before).record(ScheduledRun("weekly", "2026-11-15T03:00Z", "started", "week 46"), "test")
        on_time = {"quick": "2026-11-24T06:00Z", "research": "2026-11-24T02:00Z"}
        for name in ("quick", "research"):  # these ran on time: nothing of theirs to catch up
            ScheduleBook(before).record(ScheduledRun(name, on_time[name], "started", "on time"), "test")
    cluster.env_overrides["IMPROVE_NOW"] = TUESDAY
    both = [cluster.improve_background("scheduler", "--name", f"s{i}") for i in range(2)]  # started twice
    try:
        wait_until(lambda: schedulers_alive(client) == 2, 30, "two schedulers to register")
        time.sleep(1.5)  # both have made their first pass
        assert Queue("planning", connection=client).count == 1
    finally:
        outputs = [stop(process) for process in both]
    assert [code for code, _ in outputs] == [0, 0], outputs
    assert sum("catch-up of a missed period" in stderr for _, stderr in outputs) == 1
    cluster.start_worker("planner", "planning")
    with runtime_at(cluster, now=TUESDAY) as runtime:
        book = ScheduleBook(runtime)
        wait_until(lambda: book.last("weekly").get("last_period") == "2026-11-22T03:00Z", 30, "the catch-up job")
        assert book.last("weekly")["last_action"] == "started"
        record = runtime.cycles.get("2026-W47")  # the missed Sunday's cycle, not this week's
        assert record is not None and record.run == 1 and runtime.cycles.get("2026-W48") is None
        again = cluster.improve_background("scheduler", "--name", "s3")  # back once more: nothing left to catch up
        try:
            wait_until(lambda: schedulers_alive(client) == 1, 30, "the third scheduler")
            time.sleep(1.5)
        finally:
            code, stderr = stop(again)
        assert code == 0 and "enqueued" not in stderr
        assert len(get_cron_job_ids("improve-weekly", runtime.connections.rq)) == 1
        assert [book.last(name)["last_period"] for name in ("quick", "research")] == list(on_time.values())
    client.close()


def test_status_shows_the_schedules_last_and_next_runs(cluster: Cluster) -> None:
    with runtime_at(cluster) as runtime:
        run_schedule(runtime, "weekly", WEEKLY)
        run_schedule(runtime, "quick", "0 */6 * * *")
    result = cluster.improve("status", "--json", IMPROVE_SCHEDULE_RESEARCH="off")
    assert result.returncode == 0, result.stderr
    rows = {row["name"]: row for row in last_json(result.stdout)["schedules"]}
    assert list(rows) == ["weekly", "quick", "research"]
    weekly, quick, research = rows["weekly"], rows["quick"], rows["research"]
    assert {"name", "cron", "last_run", "last_period", "last_action", "next_run"} <= set(weekly)
    assert (weekly["cron"], weekly["last_period"], weekly["last_action"]) == (WEEKLY, "2026-11-22T03:00Z", "started")
    assert weekly["next_run"] == "2026-11-29T03:00:00+00:00" and weekly["last_run"] == "2026-11-22T03:00:00+00:00"
    assert (quick["last_period"], quick["next_run"]) == ("2026-11-22T00:00Z", "2026-11-22T06:00:00+00:00")
    assert "quick-2026-11-22T00" in quick["last_detail"]
    assert research["enabled"] is False and research["next_run"] is None and research["last_action"] is None
    human = cluster.improve("status")
    assert "Schedules (UTC; no scheduler running" in human.stdout
    assert "next 2026-11-29T03:00:00+00:00  last 2026-11-22T03:00Z started" in human.stdout


def test_scheduler_starts_registers_and_stops_on_sigterm(cluster: Cluster) -> None:
    client = redis.Redis.from_url(cluster.redis_url)
    process = cluster.improve_background("scheduler", "--name", "sched-1")
    try:
        wait_until(lambda: schedulers_alive(client) == 1, 30, "the scheduler to register")
        registered = CronScheduler.all(client)[0]
        assert registered.name == "sched-1"
        assert sorted((job.name, job.cron, job.queue_name) for job in registered.get_jobs()) == [
            ("improve-quick", "0 */6 * * *", "planning"), ("improve-research", "0 2 * * *", "research"),
            ("improve-weekly", WEEKLY, "planning")]
        status = last_json(cluster.improve("status", "--json").stdout)
        assert [s["name"] for s in status["schedulers"]] == ["sched-1"]
    finally:
        code, stderr = stop(process)
    assert code == 0, stderr
    assert "weekly full cycle: '0 3 * * 0' on queue planning, next 2026-11-29 03:00" in stderr
    assert "stopping" in stderr and "scheduler stopped" in stderr
    assert schedulers_alive(client) == 0
    client.close()


def test_scheduler_refuses_bad_settings(cluster: Cluster) -> None:
    no_redis = cluster.improve("scheduler", REDIS_URL="")
    assert no_redis.returncode == 2 and "needs REDIS_URL" in no_redis.stderr
    bad = cluster.improve("scheduler", IMPROVE_SCHEDULE_WEEKLY="61 3 * * 0")
    assert bad.returncode == 2 and "IMPROVE_SCHEDULE_WEEKLY='61 3 * * 0' is not a valid cron string" in bad.stderr
    off = cluster.improve("scheduler", IMPROVE_SCHEDULE_WEEKLY="off", IMPROVE_SCHEDULE_QUICK="off",
                          IMPROVE_SCHEDULE_RESEARCH="off")
    assert off.returncode == 2 and "every schedule is off" in off.stderr


def test_the_research_job_scans_and_a_failure_is_recorded(cluster: Cluster, monkeypatch: pytest.MonkeyPatch) -> None:
    with runtime_at(cluster, research_rerank="off", openrouter_api_key="sk-test-secret-123456") as runtime:
        outcome = run_schedule(runtime, "research", "0 2 * * *")
        assert (outcome.action, outcome.period) == ("ran", "2026-11-22T02:00Z")
        assert "for cycle 2026-W47" in outcome.detail and "source errors" in outcome.detail  # no upstream answers
        assert Path(outcome.detail.rsplit("summary ", 1)[1]).exists()

        def broken(runtime: Runtime, tick: datetime) -> tuple[str, str]:
            raise RuntimeError("upstream broke (token=sk-test-secret-123456)")

        monkeypatch.setitem(scheduling.ACTIONS, "quick", broken)
        with pytest.raises(RuntimeError):
            run_schedule(runtime, "quick", make("quick").cron)
        last = ScheduleBook(runtime).last("quick")
        assert last["last_action"] == "failed" and "upstream broke" in last["last_detail"]
        assert "sk-test-secret" not in last["last_detail"]

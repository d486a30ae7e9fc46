"""The cycle run in-process on fakeredis: DAG order, failures, resumes, and triggering twice."""

from __future__ import annotations

from pathlib import Path

import pytest

from blackboard.entries import CycleEvent, StepStatus
from workers.conductor import Conductor
from workers.dag import WEEKLY, with_downstream
from workers.runtime import Runtime
from workers.trigger import steps_to_run, wanted_cycle


def drive(runtime: Runtime, **options: bool) -> tuple[str, list[CycleEvent]]:
    kind = "quick" if options.pop("quick", False) else "weekly"
    outcome = Conductor(runtime, poll=0.01).drive(wanted_cycle(runtime, kind, **options), "in-process", timeout=30)
    return outcome.action, outcome.events


def terminal(events: list[CycleEvent]) -> dict[str, StepStatus]:
    return {e.step: e.status for e in events if e.status != StepStatus.STARTED}


def test_dag_helpers() -> None:
    assert [s.name for s in WEEKLY][:3] == ["catalog_sync", "research_scan", "benchmark_pre"]
    assert with_downstream("weekly", ["upgrade"]) == ["upgrade", "verify", "report"]
    assert with_downstream("weekly", ["research_scan"]) == ["research_scan", "plan", "upgrade", "verify", "report"]
    assert with_downstream("quick", ["catalog_sync"]) == ["catalog_sync", "plan", "upgrade"]


def test_weekly_cycle_runs_every_step_and_reports(fake_runtime: Runtime) -> None:
    action, events = drive(fake_runtime)
    assert action == "started"
    outcome = terminal(events)
    assert outcome["report"] == StepStatus.SUCCEEDED
    # every agent ran (their upstreams were unreachable); nothing was planned, applied or verified
    ran = ("report", "catalog_sync", "research_scan", "plan", "upgrade", "verify")
    assert all(outcome[name] == StepStatus.SUCCEEDED for name in ran)
    assert all(outcome[s.name] == StepStatus.SKIPPED for s in WEEKLY if s.name not in ran)
    skipped = {e.step: e for e in events if e.status == StepStatus.SKIPPED}
    assert skipped["benchmark_pre"].reason.startswith("no routed models")  # nothing routed: nothing to benchmark
    errors = fake_runtime.board.read_cycle("2026-W47", kinds=["source_error"])
    assert {(e.source, e.error_type) for e in errors} >= {  # type: ignore[attr-defined]
        ("openrouter", "connection"), ("huggingface", "connection"), ("arxiv", "connection")}
    record = fake_runtime.cycles.get("2026-W47")
    assert record is not None and record.safe is True and record.finished_at is not None
    assert record.report_path and Path(record.report_path).name == "2026-11-22.md"
    assert "not implemented yet" not in Path(record.report_path).read_text()
    # the DAG order holds: plan starts only after its three parents finished
    order = [(e.step, e.status) for e in events]
    plan_start = order.index(("plan", StepStatus.STARTED))
    for parent in ("catalog_sync", "research_scan", "benchmark_pre"):
        assert order.index((parent, outcome[parent])) < plan_start


def test_triggering_a_finished_cycle_runs_nothing(fake_runtime: Runtime) -> None:
    _, first = drive(fake_runtime)
    before = fake_runtime.board.count("cycle_event")
    action, events = drive(fake_runtime)
    assert action == "finished"
    assert [e.id for e in events] == [e.id for e in first]  # the finished run's outcomes, told again
    assert fake_runtime.board.count("cycle_event") == before


def test_failed_step_does_not_strand_dependents_and_resume_reruns_it(fake_runtime: Runtime) -> None:
    fake_runtime.settings.step_overrides["research_scan"] = "tests.fixture_steps:broken"
    action, events = drive(fake_runtime)
    outcome = terminal(events)
    assert outcome["research_scan"] == StepStatus.FAILED
    # the planner still plans from what did arrive; the resumed run plans again (proposals are deduplicated)
    assert outcome["plan"] == StepStatus.SUCCEEDED and outcome["report"] == StepStatus.SUCCEEDED
    failure = next(e for e in events if e.status == StepStatus.FAILED)
    assert "ValueError" in failure.reason and "sk-test-secret" not in failure.reason
    record = fake_runtime.cycles.get("2026-W47")
    assert record is not None and record.safe is False
    assert any("research_scan failed" in r for r in record.safety_reasons)
    assert record.report_path and "research\\_scan failed" in Path(record.report_path).read_text()

    fake_runtime.settings.step_overrides["research_scan"] = "tests.fixture_steps:findings"
    assert steps_to_run(fake_runtime, record) == ["research_scan", "plan", "upgrade", "verify", "report"]
    action, events = drive(fake_runtime)
    assert action == "resumed"
    assert {e.step for e in events} == {"research_scan", "plan", "upgrade", "verify", "report"}
    assert {e.run for e in events} == {2}
    assert fake_runtime.board.count("finding") == 10


def test_no_benchmarks_is_a_deliberate_skip(fake_runtime: Runtime) -> None:
    _, events = drive(fake_runtime, benchmarks=False)
    skipped = [e for e in events if e.step in ("benchmark_pre", "verify") and e.status == StepStatus.SKIPPED]
    assert {e.reason for e in skipped} == {"disabled by --no-benchmarks"}


def test_quick_cycle_has_no_report(fake_runtime: Runtime) -> None:
    _, events = drive(fake_runtime, quick=True)
    assert [e.step for e in events if e.status != StepStatus.STARTED] == ["catalog_sync", "plan", "upgrade"]
    record = fake_runtime.cycles.get("quick-2026-11-22T00")
    assert record is not None and record.finished_at is not None and record.report_path is None


def test_dry_run_is_its_own_cycle(fake_runtime: Runtime) -> None:
    drive(fake_runtime, dry_run=True)
    ids = [r.cycle_id for r in fake_runtime.cycles.recent()]
    assert ids == ["2026-W47-dry-20261122T030000"]


@pytest.mark.parametrize("step", ["catalog_sync", "report"])
def test_unknown_override_target_fails_the_step_clearly(fake_runtime: Runtime, step: str) -> None:
    fake_runtime.settings.step_overrides[step] = "tests.fixture_steps:does_not_exist"
    _, events = drive(fake_runtime)
    failed = [e for e in events if e.status == StepStatus.FAILED]
    assert [e.step for e in failed] == [step] and "AttributeError" in failed[0].reason


def test_a_late_failure_report_never_overrides_a_success(fake_runtime: Runtime) -> None:
    from workers.runner import record_failure

    drive(fake_runtime)
    before = fake_runtime.board.count("cycle_event")
    record_failure(fake_runtime, "2026-W47", 1, "report", "the worker running it died (job abandoned)")
    assert fake_runtime.board.count("cycle_event") == before
    record = fake_runtime.cycles.get("2026-W47")
    assert record is not None and record.report_path is not None

"""The benchmark steps of a cycle (benchmark_pre, verify), `improve bench`, and the shard job other workers run."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING

from agents.measures import case_scores, measure
from blackboard.entries import Applied, Proposal, SkipReason, StepStatus
from workers.bench import BenchOutcome, Helpers, complete, load_suite, plan, post_measurements, routed_models, runs_of
from workers.bench_verdicts import judge_models
from workers.runtime import Runtime

if TYPE_CHECKING:
    from workers.steps import StepContext, StepResult

logger = logging.getLogger(__name__)


def run_benchmark(runtime: Runtime, cycle_id: str, run_id: str, phase: str, models: list[str], *,
                  suite_path: Path | None = None, suite_format: str | None = None,
                  helpers: Helpers | None = None) -> BenchOutcome:
    """Run (or resume) a benchmark of ``models``, post its measurements and regressions, remember a valid run."""
    settings, runs = runtime.settings, runs_of(runtime)
    suite = load_suite(settings, suite_path, suite_format)
    plan(runtime, run_id, cycle_id, phase, models, suite, suite_path, suite_format)
    if helpers is not None and settings.bench_shards > 1:
        helpers(run_id)
    complete(runtime, run_id)
    meta = runs.meta(run_id) or {}
    metrics = measure(runs.records(run_id))
    post_measurements(runtime, cycle_id, run_id, meta, metrics)

    def rerun(model: str, case_ids: list[str]) -> dict[str, float]:
        confirm_id = f"{run_id}:confirm:{model}"
        plan(runtime, confirm_id, cycle_id, phase, [model], suite, suite_path, suite_format, {model: case_ids})
        complete(runtime, confirm_id)
        return case_scores(runs.records(confirm_id, model))

    regressions, notes = judge_models(runtime, cycle_id, run_id, meta, metrics, rerun)
    runtime.board.post_many(regressions)
    if phase != "verify":
        for model, m in metrics.items():
            if m.valid:
                runs.remember(model, meta["baseline_key"], run_id, runtime.clock.now())
    return BenchOutcome(run_id, phase, metrics, regressions, notes)


def touched_models(runtime: Runtime, cycle_id: str) -> list[str]:
    """The models an applied change of this cycle touched (its proposal's ``change.models`` / ``change.model``)."""
    entries = runtime.board.read_cycle(cycle_id, kinds=["applied", "proposal"])
    applied = {e.proposal_id for e in entries if isinstance(e, Applied) and not e.dry_run}
    found: list[str] = []
    for entry in entries:
        if isinstance(entry, Proposal) and entry.proposal_id in applied:
            models = entry.change.get("models") or ([entry.change["model"]] if entry.change.get("model") else [])
            found += [str(m) for m in models] if isinstance(models, list) else []
    return list(dict.fromkeys(found))


def _helpers(context: StepContext) -> Helpers | None:
    """Inside an RQ job: a function that enqueues shard jobs, so other benchmark workers share the run."""
    from rq import Queue, get_current_job

    job = get_current_job()
    if job is None:
        return None

    def enqueue(run_id: str) -> None:
        queue = Queue(context.agent, connection=job.connection)
        for shard in range(1, context.runtime.settings.bench_shards):
            queue.enqueue("workers.jobs.bench_shard", run_id, job_id=f"improve-bench-{run_id}-s{shard}".replace(
                ":", "-"), job_timeout=context.runtime.settings.step_timeout, result_ttl=3600, failure_ttl=86400)
    return enqueue


def _result(outcome: BenchOutcome, unverified: bool = False) -> StepResult:
    from workers.steps import StepResult

    notes = list(outcome.notes)
    if outcome.invalid:
        notes.insert(0, "invalid run: too many errors to judge")
    severe = [r for r in outcome.regressions if r.severity.value in ("alert", "critical")]
    if severe:
        notes.append(f"{len(severe)} regression(s): " + ", ".join(
            f"{r.model} {r.category} {r.metric} {r.severity.value}" for r in severe[:5]))
    return StepResult(reason="; ".join(notes)[:500], summary={**outcome.to_json(), "unverified": unverified})


def benchmark_step(context: StepContext) -> StepResult:
    from workers.steps import StepResult

    models = routed_models(context.runtime)
    if not models:
        return StepResult(StepStatus.SKIPPED, "no routed models to benchmark (set IMPROVE_ROUTING or "
                          "IMPROVE_BENCH_MODELS)", SkipReason.NOTHING_TO_DO)
    cycle_id = context.record.cycle_id
    outcome = run_benchmark(context.runtime, cycle_id, f"{cycle_id}:pre", "pre", models, helpers=_helpers(context))
    return _result(outcome)


def verify_step(context: StepContext) -> StepResult:
    from workers.steps import StepResult

    cycle_id = context.record.cycle_id
    models = touched_models(context.runtime, cycle_id)
    if not models:
        return StepResult(reason="nothing was applied this cycle: nothing to verify",
                          summary={"models": {}, "regressions": [], "invalid": False, "unverified": False})
    outcome = run_benchmark(context.runtime, cycle_id, f"{cycle_id}:verify", "verify", models,
                            helpers=_helpers(context))
    return _result(outcome, unverified=outcome.invalid)

"""The benchmark steps of a cycle (benchmark_pre, verify), `improve bench`, and the shard job other workers run."""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path
from typing import TYPE_CHECKING

from agents.measures import case_scores, measure
from blackboard.entries import Applied, Proposal, SkipReason, StepStatus
from workers.bench import BenchOutcome, Helpers, complete, load_suite, plan, post_measurements, routed_models, runs_of
from workers.bench_verdicts import Pair, judge_models
from workers.runtime import Runtime

if TYPE_CHECKING:
    from workers.steps import StepContext, StepResult

logger = logging.getLogger(__name__)


def run_benchmark(runtime: Runtime, cycle_id: str, run_id: str, phase: str, models: list[str], *,
                  suite_path: Path | None = None, suite_format: str | None = None,
                  helpers: Helpers | None = None, categories: list[str] | None = None,
                  pairs: list[Pair] | None = None, judge_latency: bool = True,
                  remember: bool = True) -> BenchOutcome:
    """Run (or resume) a benchmark of ``models``, post its measurements and regressions, remember a valid run.

    A verification run (phase ``verify``) judges each ``pairs`` entry: the model a change routed to a category,
    on that category's cases, against the model it replaced in this cycle's pre-change run. ``judge_latency`` is
    false when other steps share this process (the in-process runner): their work would be timed as the model's.
    A run not to ``remember`` (a dry run's) is measured and judged but joins no baseline."""
    settings, runs = runtime.settings, runs_of(runtime)
    suite = load_suite(settings, suite_path, suite_format, categories)
    plan(runtime, run_id, cycle_id, phase, models, suite, suite_path, suite_format)
    if helpers is not None and settings.bench_shards > 1:
        helpers(run_id)
    complete(runtime, run_id)
    meta = runs.meta(run_id) or {}
    records = runs.records(run_id)
    metrics = measure(records)
    post_measurements(runtime, cycle_id, run_id, meta, metrics)

    def rerun(model: str, case_ids: list[str]) -> dict[str, float]:
        digest = hashlib.sha256("\n".join(sorted(case_ids)).encode()).hexdigest()[:10]
        confirm_id = f"{run_id}:confirm:{model}:{digest}"  # one re-run per set of cases, resumable like any run
        plan(runtime, confirm_id, cycle_id, phase, [model], suite, suite_path, suite_format, {model: case_ids})
        complete(runtime, confirm_id)
        return case_scores(runs.records(confirm_id, model))

    regressions, notes = judge_models(runtime, runs, cycle_id, run_id, meta, records, metrics, rerun, pairs or [],
                                      judge_latency)
    runtime.board.post_many(regressions)
    if phase != "verify" and remember:
        for model, m in metrics.items():
            if m.valid:
                runs.remember(model, meta["baseline_key"], run_id, runtime.clock.now())
    return BenchOutcome(run_id, phase, metrics, regressions, notes)


def changes_to_verify(runtime: Runtime, cycle_id: str) -> list[tuple[Applied, Pair]]:
    """What this cycle's applied changes routed differently: (the Applied entry, {category, before, after})."""
    found: list[tuple[Applied, Pair]] = []
    for applied in runtime.board.read_cycle(cycle_id, kinds=["applied"]):
        if not isinstance(applied, Applied) or applied.dry_run or not applied.evidence:
            continue
        proposal = runtime.board.get(applied.evidence[0])  # the proposal entry it applied (maybe an earlier cycle's)
        if not isinstance(proposal, Proposal):
            continue
        checks = proposal.change.get("verify")
        for check in checks if isinstance(checks, list) else []:
            if isinstance(check, dict) and all(isinstance(check.get(k), str) for k in ("category", "after")):
                found.append((applied, {"category": str(check["category"]), "after": str(check["after"]),
                                        "before": str(check.get("before") or "")}))
    return found


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
    helpers = _helpers(context)
    outcome = run_benchmark(context.runtime, cycle_id, f"{cycle_id}:pre", "pre", models, helpers=helpers,
                            judge_latency=helpers is not None, remember=not context.record.dry_run)
    if helpers is None:
        outcome.notes.append("latency not judged: other steps ran in the same process (run workers to judge it)")
    return _result(outcome)


def verify_step(context: StepContext) -> StepResult:
    """Benchmark what this cycle's changes routed differently; a confirmed drop over 5 % is rolled back."""
    from workers.steps import StepResult
    from workers.upgrade import roll_back

    runtime, cycle_id = context.runtime, context.record.cycle_id
    checks = changes_to_verify(runtime, cycle_id)
    if not checks:
        return StepResult(reason="no applied change routed differently this cycle: nothing to verify",
                          summary={"models": {}, "regressions": [], "invalid": False, "unverified": False,
                                   "rolled_back": []})
    pairs = [pair for _, pair in checks]
    covered = set(load_suite(runtime.settings).categories)
    unverifiable = sorted({p["category"] for p in pairs if p["category"] not in covered})
    pairs = [p for p in pairs if p["category"] in covered]
    outcome = BenchOutcome(f"{cycle_id}:verify", "verify")
    if pairs:
        outcome = run_benchmark(runtime, cycle_id, f"{cycle_id}:verify", "verify",
                                sorted({p["after"] for p in pairs}), helpers=_helpers(context),
                                categories=sorted({p["category"] for p in pairs}), pairs=pairs)
    outcome.notes += [f"the suite has no {category} cases: the change to it is not verified" for category in
                      unverifiable]
    rolled: list[str] = []
    for regression in outcome.regressions:
        if regression.phase != "verify" or regression.severity.value not in ("alert", "critical"):
            continue
        for applied, pair in checks:
            if (pair["category"], pair["after"]) == (regression.category, regression.model) and \
                    applied.proposal_id not in rolled:
                p_value = "n/a" if regression.p_value is None else f"{regression.p_value:.3g}"
                reason = (f"{regression.model} on {regression.category}: {regression.drop:.1%} worse than "
                          f"{pair['before'] or 'before'} (p={p_value})")
                if roll_back(runtime, cycle_id, applied, "verify", reason, (regression.id,)) is not None:
                    rolled.append(applied.proposal_id)
    result = _result(outcome, unverified=outcome.invalid)
    result.summary["rolled_back"] = rolled
    if rolled:
        result.reason = (f"rolled back {', '.join(rolled)}; " + result.reason)[:500]
    return result

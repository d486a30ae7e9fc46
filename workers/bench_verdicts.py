"""Judging a benchmark run: against each model's rolling baseline (pre) or this cycle's pre run (verify).

A verdict that is not ok (suspect, alert, critical) is decided again after its regressed cases are asked once more
and pooled: a suspect may become an alert, and noise gets no second chance to raise one. Only then is a
Regression posted, with the p-value, the baseline window and the suite's MDE.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from statistics import fmean
from typing import Any

from agents.measures import ModelMetrics, case_scores, categories_of, latencies
from agents.regression import (
    Verdict,
    classify,
    confirm,
    cusum,
    detect,
    detect_categories,
    latency_regression,
    pool,
    verify_change,
)
from blackboard.entries import Regression, Severity
from blackboard.runs import BenchRuns
from workers.runtime import Runtime

ACTIONABLE = ("suspect", "alert", "critical")
SEVERE = {"suspect": Severity.SUSPECT, "alert": Severity.ALERT, "critical": Severity.CRITICAL}
DRIFT_HISTORY = 26
MIN_BASELINE = 3
Pair = dict[str, str]  # {"category", "before", "after"}: a routing change to verify
Rerun = Callable[[str, list[str]], dict[str, float]]  # model, case ids -> fresh scores


def _regression(runtime: Runtime, cycle_id: str, model: str, category: str, verdict: Verdict, phase: str,
                window: Sequence[str], confirmed: bool) -> Regression | None:
    severity = SEVERE.get(verdict.status)
    if severity is None:
        return None
    return Regression(
        cycle_id=cycle_id, agent="benchmark", created_at=runtime.clock.now(), model=model, category=category,
        severity=severity, drop=round(verdict.drop, 6), p_value=verdict.p_value, baseline=verdict.baseline,
        current=verdict.current, metric="score", phase=phase,
        details={"baseline_runs": list(window), "mde": verdict.mde, "cases": verdict.cases,
                 "confirmed": confirmed, "regressed_cases": list(verdict.regressed_cases[:20])})


def _reclassified(first: Verdict, pooled: Verdict) -> Verdict:
    """The first run's drop (re-running only the cases that fell would bias a pooled drop towards 0) with the
    pooled p-value (whose null knows only failed cases were re-run)."""
    if pooled.p_value is None or pooled.status not in ACTIONABLE + ("ok",) or not first.baseline:
        return pooled
    return replace(pooled, drop=first.drop, current=first.current, status=classify(first.drop, pooled.p_value))


def against_baseline(runtime: Runtime, runs: BenchRuns, cycle_id: str, run_id: str, meta: dict[str, Any],
                     model: str, records: list[dict[str, Any]], rerun: Rerun,
                     judge_latency: bool = True) -> tuple[list[Regression], int]:
    """The model's regressions against its last valid runs of the same suite, scorer and judge (at most
    IMPROVE_BENCH_BASELINE_RUNS of them; the drift chart looks further back), and how many earlier runs there were."""
    earlier = [r for r in runs.history(model, meta["baseline_key"], DRIFT_HISTORY + 1) if r != run_id]
    past = {r: runs.records(r, model) for r in earlier[-DRIFT_HISTORY:]}  # each earlier run read once
    window = earlier[-runtime.settings.bench_baseline_runs:]
    history = [case_scores(past[r]) for r in window]
    current, category_of = case_scores(records), categories_of(records)

    first = {"overall": detect(history, current), **detect_categories(history, current, category_of)}
    # every verdict that is not ok is decided again after one re-run of the cases it rests on (a rollback may
    # follow; confirming only the suspects would give noise a second chance)
    again = sorted({case for v in first.values() if v.status in ACTIONABLE for case in v.regressed_cases})
    confirmed = bool(again)
    final = first
    if confirmed:
        fresh = rerun(model, again)
        final = {"overall": confirm(history, current, fresh)}
        pooled = detect_categories(history, pool(current, fresh), category_of, reruns=1)
        final.update({name: _reclassified(first[name], v) for name, v in pooled.items()})
    found = [r for category, v in final.items()
             if (r := _regression(runtime, cycle_id, model, category, v, "pre", window, confirmed))]
    if judge_latency:
        found += _latency(runtime, cycle_id, model, window, [past[r] for r in window], records)
    found += _drift(runtime, cycle_id, model, list(past.values()), current)
    return found, len(window)


def _latency(runtime: Runtime, cycle_id: str, model: str, window: Sequence[str],
             window_records: Sequence[list[dict[str, Any]]], records: list[dict[str, Any]]) -> list[Regression]:
    if len(window) < MIN_BASELINE:
        return []
    before = [value for past in window_records for value in latencies(past)]
    verdict = latency_regression(before, latencies(records))
    if not verdict.regressed or verdict.ratio is None or verdict.current_p95 is None or verdict.baseline_p95 is None:
        return []
    if verdict.current_p95 - verdict.baseline_p95 < runtime.settings.bench_latency_min_increase:
        return []  # significant but too small to matter (loopback jitter, a few milliseconds)
    return [Regression(cycle_id=cycle_id, agent="benchmark", created_at=runtime.clock.now(), model=model,
                       category="overall", severity=Severity.ALERT, drop=round(verdict.ratio - 1, 6),
                       p_value=verdict.p_value, baseline=verdict.baseline_p95, current=verdict.current_p95,
                       metric="latency_p95", details={"baseline_runs": list(window), "ratio": verdict.ratio})]


def _drift(runtime: Runtime, cycle_id: str, model: str, past: Sequence[list[dict[str, Any]]],
           current: dict[str, float]) -> list[Regression]:
    """Slow decline over many weeks, which no single week's test sees (``past``: earlier runs, oldest first)."""
    weekly = [fmean(s.values()) for records in past if (s := case_scores(records))]
    if not current:
        return []
    drift = cusum([*weekly, fmean(current.values())])
    if not drift.alarm or drift.mu0 is None:
        return []
    level = fmean(current.values())
    return [Regression(cycle_id=cycle_id, agent="benchmark", created_at=runtime.clock.now(), model=model,
                       category="overall", severity=Severity.ALERT,
                       drop=round((drift.mu0 - level) / drift.mu0, 6) if drift.mu0 else 0.0, p_value=None,
                       baseline=drift.mu0, current=level, metric="drift",
                       details={"weeks": drift.weeks, "statistic": drift.statistic, "threshold": drift.threshold})]


def against_pre(runtime: Runtime, runs: BenchRuns, cycle_id: str, records: list[dict[str, Any]], pair: Pair,
                rerun: Rerun) -> tuple[list[Regression], str | None]:
    """Verification of an applied change: the model it routed to a category, on that category's cases, against the
    model it replaced in this cycle's pre-change run (the same model, for a change that kept it), paired by case."""
    category, after = pair["category"], pair["after"]
    before_model = pair.get("before") or after
    pre_run = f"{cycle_id}:pre"
    before = case_scores(r for r in runs.records(pre_run, before_model) if r.get("category") == category)
    if not before:
        return [], f"{after} on {category}: no pre-change run of {before_model} in this cycle to compare with"
    current = case_scores(r for r in records if r.get("category") == category)
    verdict = verify_change(before, current)
    confirmed = verdict.status in ACTIONABLE and bool(verdict.regressed_cases)
    if confirmed:
        pooled = verify_change(before, pool(current, rerun(after, list(verdict.regressed_cases))))
        verdict = _reclassified(verdict, pooled)
    regression = _regression(runtime, cycle_id, after, category, verdict, "verify", [pre_run], confirmed)
    if regression is not None:
        regression = regression.model_copy(update={"details": {**regression.details, "before_model": before_model}})
    return ([regression] if regression else []), None


def judge_models(runtime: Runtime, runs: BenchRuns, cycle_id: str, run_id: str, meta: dict[str, Any],
                 records: Sequence[dict[str, Any]], metrics: Mapping[str, ModelMetrics], rerun: Rerun,
                 pairs: Sequence[Pair] = (), judge_latency: bool = True) -> tuple[list[Regression], list[str]]:
    """Every valid model's regressions (``records``: the run's), and notes on what could not be judged and why."""
    found: list[Regression] = []
    notes: list[str] = []
    young: list[str] = []  # models whose baseline is too short to judge yet, with their earlier runs
    for model, m in metrics.items():
        if not m.valid:
            notes.append(f"{model}: invalid run ({m.overall['error_rate']:.0%} errors): recorded, not judged")
            continue
        own = [r for r in records if r.get("model") == model]
        if meta["phase"] == "verify":
            for pair in [p for p in pairs if p["after"] == model] or [{"category": c, "after": model, "before": model}
                                                                     for c in m.categories]:
                regressions, note = against_pre(runtime, runs, cycle_id, own, pair, rerun)
                found += regressions
                notes += [note] if note else []
        else:
            regressions, earlier = against_baseline(runtime, runs, cycle_id, run_id, meta, model, own, rerun,
                                                    judge_latency)
            found += regressions
            if earlier < MIN_BASELINE:
                young.append(f"{model} ({earlier})")
    if young:
        notes.insert(0, f"recorded only, fewer than {MIN_BASELINE} earlier valid runs of this suite: "
                        + ", ".join(young))
    return found, notes

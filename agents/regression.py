"""Regression detection that does not cry wolf: a benchmark run against its own recent runs, case by case.

A drop alerts only when it is both large (relative drop >= alert_drop) and significant (p <= alert_p). Large but not
significant is "suspect": re-run the regressed cases and decide again with `confirm`; never alert on it alone. Before
acting on an alert (a rollback), confirm it the same way: that keeps the whole procedure's false alarms near alert_p.

- Binary suites (every score 0 or 1): each case's pass probability is its posterior predictive under a beta prior
  fitted by maximum likelihood to the K baseline runs (empirical Bayes), so always-passing cases stay nearly
  deterministic and flaky ones keep their spread; the p-value is the exact lower tail P(S <= s) of the number of
  passes S (a Poisson-binomial; with confirmation re-runs, a lattice of beta-binomial mixtures).
- Continuous scores: a one-sided sign-flip permutation test on d_i = s_i - (the case's baseline mean).
- MDE (the suite's honesty number): the smallest relative drop that *this rule* (both gates) flags at alert_p with
  80 % power, by the normal approximation. With s = sqrt(sum p_i(1-p_i)) / (n * B) for a binary suite (the test's
  sd) and s' = s * sqrt(1 + 1/K) (the observed drop's, B being a mean of K runs):
  MDE = max((z(1-alert_p) + z(0.8)) * s, alert_drop + z(0.8) * s').
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from statistics import fmean, variance

from agents.drift import Drift, cusum
from agents.latency import LatencyVerdict, latency_regression
from agents.stats import (
    beta_binomial_pmf,
    fit_beta_binomial,
    holm,
    lattice_sum_cdf,
    mcnemar_p,
    normal_quantile,
    percentile,
    sign_flip_p,
    summary,
)

__all__ = ["Drift", "LatencyVerdict", "Verdict", "classify", "confirm", "cusum", "detect", "detect_categories",
           "latency_regression", "percentile", "pool", "summary", "verify_change"]

STATUSES = ("ok", "suspect", "alert", "critical", "insufficient_baseline", "too_few_cases")
_EPS = 1e-9


@dataclass(frozen=True)
class Verdict:
    status: str  # one of STATUSES
    drop: float  # relative drop (B - C) / B; negative = improvement; 0.0 when B is unknown or 0
    p_value: float | None  # one-sided; Holm-adjusted in detect_categories
    baseline: float | None  # B: mean of the baseline runs' means over the paired cases
    current: float  # C: mean of the current run over the paired cases
    cases: int  # paired cases used
    baseline_runs: int
    mde: float | None  # smallest relative drop flagged (alert or worse) with 80 % power; > 1 means none is
    regressed_cases: tuple[str, ...]  # below their baseline, worst first: what a confirmation re-run repeats
    method: str = "none"  # "poisson-binomial", "beta-binomial-confirmed", "sign-flip", "sign-flip-exact", "mcnemar"
    raw_p_value: float | None = None  # before the Holm adjustment (detect_categories); else equal to p_value
    note: str = ""  # why an edge case was decided as it was


@dataclass(frozen=True)
class _Test:
    p_value: float
    sd_of_sum: float  # sd of the test's statistic (a sum over cases) under no change
    method: str
    drop_sd_of_sum: float  # sd of sum(current) - n * B, B being estimated too


def classify(drop: float, p_value: float, *, alert_drop: float = 0.05, critical_drop: float = 0.15,
             alert_p: float = 0.05, critical_p: float = 0.01) -> str:
    if drop >= critical_drop and p_value <= critical_p:
        return "critical"
    if drop >= alert_drop and p_value <= alert_p:
        return "alert"
    return "suspect" if drop >= alert_drop else "ok"


def detect(history: Sequence[Mapping[str, float]], current: Mapping[str, float], *, min_runs: int = 3,
           alert_drop: float = 0.05, critical_drop: float = 0.15, alert_p: float = 0.05, critical_p: float = 0.01,
           min_cases: int = 1, reruns: int | None = None) -> Verdict:
    """Test ``current`` against the baseline runs ``history``, paired on the case ids present in all of them.

    ``reruns``: how many confirmation re-runs of the regressed cases were averaged into ``current`` (see `pool`,
    `confirm`). For binary suites the null then accounts for the procedure: a case is re-run only after it failed.
    Left None it is read from the pooled scores' denominators, which cannot see re-runs that failed again (that
    errs towards a larger p-value); pass it, or call `confirm`.
    """
    gates = {"alert_drop": alert_drop, "critical_drop": critical_drop, "alert_p": alert_p, "critical_p": critical_p}
    _check_gates(**gates)
    for i, run in enumerate(history):
        _check_run(run, f"baseline run {i}")
    _check_run(current, "current run")
    ids = set(current).intersection(*history) if history else set(current)
    cases = sorted(ids)
    n, runs = len(cases), len(history)
    c_mean = fmean(current[c] for c in cases) if cases else (fmean(current.values()) if current else 0.0)
    if n == 0:
        return Verdict("too_few_cases", 0.0, None, None, c_mean, 0, runs, None, (),
                       note="no case is in the current run and in every baseline run")
    case_means = {c: fmean(run[c] for run in history) for c in cases} if history else {}
    b_mean = fmean(fmean(run[c] for c in cases) for run in history) if history else None
    drop = (b_mean - c_mean) / b_mean if b_mean else 0.0
    regressed = tuple(sorted((c for c in cases if case_means and current[c] < case_means[c] - _EPS),
                             key=lambda c: (current[c] - case_means[c], c)))
    verdict = Verdict("ok", drop, None, b_mean, c_mean, n, runs, None, regressed)
    if runs < max(min_runs, 1):
        return replace(verdict, status="insufficient_baseline",
                       note=f"{runs} baseline run(s), {min_runs} needed: recorded, never alerted")
    assert b_mean is not None
    test = _binary_test(history, current, cases, reruns) if _is_binary(history, cases) else None
    if test is None:
        test = _sign_flip_test(history, current, cases, case_means)
    mde = _mde(test.sd_of_sum, test.drop_sd_of_sum, b_mean * n, alert_drop, alert_p)
    verdict = replace(verdict, p_value=test.p_value, raw_p_value=test.p_value, mde=mde, method=test.method)
    if n < min_cases:
        return replace(verdict, status="too_few_cases", note=f"{n} paired case(s), {min_cases} needed to alert")
    if b_mean == 0:
        return replace(verdict, note="the baseline scores 0: nothing can drop")
    return replace(verdict, status=classify(drop, test.p_value, **gates))


def detect_categories(history: Sequence[Mapping[str, float]], current: Mapping[str, float],
                      category_of: Mapping[str, str], *, min_cases: int = 20, min_runs: int = 3,
                      alert_drop: float = 0.05, critical_drop: float = 0.15, alert_p: float = 0.05,
                      critical_p: float = 0.01, reruns: int | None = None) -> dict[str, Verdict]:
    """`detect` per category, Holm-Bonferroni across the categories that can alert (p-values adjusted, then
    classified). Categories with fewer than ``min_cases`` paired cases are "too_few_cases" (informational, their
    p-value unadjusted, outside the Holm family); cases with no category are left out."""
    gates = {"alert_drop": alert_drop, "critical_drop": critical_drop, "alert_p": alert_p, "critical_p": critical_p}
    for i, run in enumerate(history):
        _check_run(run, f"baseline run {i}")
    _check_run(current, "current run")
    ids = set(current).intersection(*history) if history else set(current)
    members: dict[str, list[str]] = {}
    for case in sorted(ids):
        if case in category_of:
            members.setdefault(category_of[case], []).append(case)
    verdicts = {name: detect([{c: run[c] for c in chosen} for run in history], {c: current[c] for c in chosen},
                             min_runs=min_runs, min_cases=min_cases, reruns=reruns, alert_drop=alert_drop,
                             critical_drop=critical_drop, alert_p=alert_p, critical_p=critical_p)
                for name, chosen in sorted(members.items())}
    family = [name for name, v in verdicts.items() if v.status in ("ok", "suspect", "alert", "critical")]
    adjusted = holm([verdicts[name].p_value or 1.0 for name in family])
    for name, p_value in zip(family, adjusted, strict=True):
        v = verdicts[name]
        status = classify(v.drop, p_value, **gates) if v.baseline else "ok"
        verdicts[name] = replace(v, p_value=p_value, raw_p_value=v.p_value, status=status)
    return verdicts


def pool(current: Mapping[str, float], rerun: Mapping[str, float], *more: Mapping[str, float]) -> dict[str, float]:
    """Average each re-run case's scores over the run and its confirmation re-run(s); other cases stay as they were."""
    _check_run(current, "current run")
    for i, extra in enumerate((rerun, *more)):
        _check_run(extra, f"re-run {i}")
        unknown = sorted(set(extra) - set(current))
        if unknown:
            raise ValueError(f"re-run {i} has cases the run does not: {', '.join(unknown[:5])}")
    pooled = dict(current)
    for case in set(rerun).union(*more):
        scores = [current[case]] + [extra[case] for extra in (rerun, *more) if case in extra]
        pooled[case] = math.fsum(scores) / len(scores)
    return pooled


def confirm(history: Sequence[Mapping[str, float]], current: Mapping[str, float], rerun: Mapping[str, float],
            *more: Mapping[str, float], min_runs: int = 3, alert_drop: float = 0.05, critical_drop: float = 0.15,
            alert_p: float = 0.05, critical_p: float = 0.01, min_cases: int = 1) -> Verdict:
    """Decide a run again after re-running its regressed cases once or more (``rerun``, ``*more``).

    The p-value is `detect` on the pooled run under a null that knows only failed cases were re-run, so it stays
    valid; the drop stays the full run's (re-running only the cases that fell averages them up and biases a pooled
    drop towards 0). Act on the confirmed verdict of every run that was not "ok": confirming only the suspects
    gives noise a second look (scenario B, 2000 runs: 3.8 % false alarms single-run, 6.0 % confirming suspects,
    5.0 % confirming all), while a true 15 % drop is caught in 98 % either way.
    """
    first = detect(history, current, min_runs=min_runs, min_cases=min_cases, alert_drop=alert_drop,
                   critical_drop=critical_drop, alert_p=alert_p, critical_p=critical_p)
    pooled = detect(history, pool(current, rerun, *more), reruns=1 + len(more), min_runs=min_runs,
                    min_cases=min_cases, alert_drop=alert_drop, critical_drop=critical_drop, alert_p=alert_p,
                    critical_p=critical_p)
    if pooled.status in ("insufficient_baseline", "too_few_cases") or pooled.p_value is None or not first.baseline:
        return pooled
    status = classify(first.drop, pooled.p_value, alert_drop=alert_drop, critical_drop=critical_drop,
                      alert_p=alert_p, critical_p=critical_p)
    return replace(pooled, status=status, drop=first.drop, current=first.current,
                   note=f"confirmed by {1 + len(more)} re-run(s); pooled mean {pooled.current:.4f}")


def verify_change(pre: Mapping[str, float], post: Mapping[str, float], *, alert_drop: float = 0.05,
                  critical_drop: float = 0.15, alert_p: float = 0.05, critical_p: float = 0.01,
                  min_cases: int = 1) -> Verdict:
    """The post-change run against the pre-change run of the same cycle, paired by case id.

    Binary: exact one-sided McNemar on the discordant pairs; its MDE also needs enough discordant pairs for
    0.5^k <= alert_p. Otherwise (graded scores, or a pooled post run): one-sided sign-flip test on post - pre.
    """
    gates = {"alert_drop": alert_drop, "critical_drop": critical_drop, "alert_p": alert_p, "critical_p": critical_p}
    _check_gates(**gates)
    _check_run(pre, "pre-change run")
    _check_run(post, "post-change run")
    cases = sorted(set(pre) & set(post))
    n = len(cases)
    if n == 0:
        return Verdict("too_few_cases", 0.0, None, None, fmean(post.values()) if post else 0.0, 0, 1, None, (),
                       note="the pre- and post-change runs share no case")
    b_mean, c_mean = fmean(pre[c] for c in cases), fmean(post[c] for c in cases)
    drop = (b_mean - c_mean) / b_mean if b_mean else 0.0
    regressed = tuple(sorted((c for c in cases if post[c] < pre[c] - _EPS), key=lambda c: (post[c] - pre[c], c)))
    if all(pre[c] in (0, 1) and post[c] in (0, 1) for c in cases):
        worse = sum(1 for c in cases if pre[c] == 1 and post[c] == 0)
        better = sum(1 for c in cases if pre[c] == 0 and post[c] == 1)
        p_value, method, sd = mcnemar_p(worse, better), "mcnemar", math.sqrt(worse + better)
        needed = math.ceil(math.log(1 / alert_p, 2))
        floor = needed / (b_mean * n) if b_mean else math.inf
    else:
        diffs = [post[c] - pre[c] for c in cases]
        p_value, exact = sign_flip_p(diffs)
        method, sd, floor = "sign-flip-exact" if exact else "sign-flip", math.sqrt(math.fsum(d * d for d in diffs)), 0.0
    mde = _mde(sd, sd, b_mean * n, alert_drop, alert_p)
    mde = max(mde, floor) if mde is not None else None
    verdict = Verdict("ok", drop, p_value, b_mean, c_mean, n, 1, mde, regressed, method, p_value)
    if n < min_cases:
        return replace(verdict, status="too_few_cases", note=f"{n} paired case(s), {min_cases} needed to alert")
    if b_mean == 0:
        return replace(verdict, note="the pre-change run scores 0: nothing can drop")
    return replace(verdict, status=classify(drop, p_value, **gates))


def _binary_test(history: Sequence[Mapping[str, float]], current: Mapping[str, float], cases: list[str],
                 reruns: int | None) -> _Test | None:
    """The beta-binomial predictive test, or None when ``current`` is not a (pooled) binary run."""
    extra = _pooled_reruns(current, cases) if reruns is None else reruns
    if extra is None:
        return None
    if extra < 0:
        raise ValueError(f"reruns must be >= 0, got {extra}")
    units = extra + 1  # the lattice: current scores are multiples of 1/units
    for case in cases:
        if abs(current[case] * units - round(current[case] * units)) > 1e-6:
            raise ValueError(f"current score {current[case]!r} of case {case!r} is not a mean of {units} 0/1 runs")
    runs = len(history)
    counts = [round(sum(run[c] for run in history)) for c in cases]
    a, b = fit_beta_binomial(counts, runs)
    # no case is predicted surer than the whole history can support: a Jeffreys rate over all n*K trials
    floor = 0.5 / (len(cases) * runs + 1)
    parts: list[tuple[int, list[float]]] = []
    variance_sum = 0.0
    for count in counts:
        alpha, beta = _clamp_mean(a + count, b + runs - count, floor)
        p = alpha / (alpha + beta)
        if extra == 0 or count == 0:  # a case that never passed is not re-run
            pmf = [1.0 - p] + [0.0] * extra + [p]
        else:
            follow = beta_binomial_pmf(extra, alpha, beta + 1)  # re-runs after a failure
            pmf = [(1.0 - p) * q for q in follow] + [p]
        parts.append((1, pmf))
        mean = sum(k * q for k, q in enumerate(pmf)) / units
        variance_sum += sum((k / units - mean) ** 2 * q for k, q in enumerate(pmf))
    observed = math.floor(math.fsum(current[c] for c in cases) * units + 1e-6)
    method = "poisson-binomial" if extra == 0 else "beta-binomial-confirmed"
    spread = math.sqrt(variance_sum)
    return _Test(lattice_sum_cdf(parts, observed), spread, method, spread * math.sqrt(1 + 1 / runs))


def _sign_flip_test(history: Sequence[Mapping[str, float]], current: Mapping[str, float], cases: list[str],
                    case_means: Mapping[str, float]) -> _Test:
    p_value, exact = sign_flip_p([current[c] - case_means[c] for c in cases])
    runs = len(history)
    spread = math.fsum(variance([run[c] for run in history]) for c in cases) if runs >= 2 else 0.0
    sd = math.sqrt(spread * (1 + 1 / runs))  # d_i = s_i - mean of K runs: both sides vary
    return _Test(p_value, sd, "sign-flip-exact" if exact else "sign-flip", sd)


def _pooled_reruns(current: Mapping[str, float], cases: list[str]) -> int | None:
    """Re-runs read from the scores: 0 for a 0/1 run, L - 1 for means of L runs (L <= 10), None if not such means."""
    units = 1
    for case in cases:
        score = current[case]
        denominator = next((d for d in range(1, 11) if abs(score * d - round(score * d)) < 1e-6), None)
        if denominator is None:
            return None
        units = units * denominator // math.gcd(units, denominator)
    return units - 1 if units <= 10 else None


def _clamp_mean(alpha: float, beta: float, floor: float) -> tuple[float, float]:
    """Move the smaller beta parameter so the mean alpha / (alpha + beta) stays in [floor, 1 - floor]."""
    if alpha / (alpha + beta) > 1 - floor:
        return alpha, alpha * floor / (1 - floor)
    if alpha / (alpha + beta) < floor:
        return beta * floor / (1 - floor), beta
    return alpha, beta


def _mde(test_sd: float, drop_sd: float, baseline_total: float, alert_drop: float, alert_p: float,
         power: float = 0.8) -> float | None:
    """The smallest true relative drop with P(drop >= alert_drop and p <= alert_p) ~ power, by the normal
    approximation, each gate on its own: the test's statistic sd and the observed drop's (which adds B's noise)."""
    if baseline_total <= 0:
        return None
    z_power = normal_quantile(power)
    by_test = (normal_quantile(1 - alert_p) + z_power) * test_sd / baseline_total
    by_gate = alert_drop + z_power * drop_sd / baseline_total
    return max(by_test, by_gate)


def _is_binary(history: Sequence[Mapping[str, float]], cases: list[str]) -> bool:
    return all(run[c] in (0, 1) for run in history for c in cases)


def _check_run(run: Mapping[str, float], label: str) -> None:
    for case, score in run.items():
        if not isinstance(score, int | float) or not math.isfinite(score) or not 0 <= score <= 1:
            raise ValueError(f"{label}: case {case!r} has score {score!r}; scores must be finite numbers in [0, 1]")


def _check_gates(*, alert_drop: float, critical_drop: float, alert_p: float, critical_p: float) -> None:
    if not (0 < alert_p < 1 and 0 < critical_p < 1):
        raise ValueError(f"alert_p and critical_p must be in (0, 1), got {alert_p} and {critical_p}")
    if not (math.isfinite(alert_drop) and math.isfinite(critical_drop)):
        raise ValueError(f"alert_drop and critical_drop must be finite, got {alert_drop} and {critical_drop}")

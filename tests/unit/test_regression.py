"""Regression detection: hand-computable cases for every test statistic, the decision rule and its edge cases."""

from __future__ import annotations

import itertools
import math
import random

import pytest

from agents.drift import cusum
from agents.latency import latency_regression
from agents.regression import classify, confirm, detect, detect_categories, pool, verify_change
from agents.stats import (
    TINY,
    beta_binomial_pmf,
    fit_beta_binomial,
    holm,
    lattice_sum_cdf,
    mann_whitney_greater,
    mcnemar_p,
    percentile,
    poisson_binomial_cdf,
    sign_flip_p,
    summary,
    t_quantile,
)


def brute_force_cdf(probs: list[float], successes: int) -> float:
    total = 0.0
    for outcome in itertools.product((0, 1), repeat=len(probs)):
        if sum(outcome) <= successes:
            total += math.prod(p if o else 1 - p for p, o in zip(probs, outcome, strict=True))
    return total


def runs_of(*rows: str) -> list[dict[str, float]]:
    """'1101' -> {c0: 1, c1: 1, c2: 0, c3: 1}"""
    return [{f"c{i}": float(ch) for i, ch in enumerate(row)} for row in rows]


# --- exact distributions -------------------------------------------------------------------------------------


@pytest.mark.parametrize("n", [1, 2, 5, 8])
def test_poisson_binomial_matches_enumeration(n: int) -> None:
    rng = random.Random(n)
    probs = [rng.random() for _ in range(n)]
    for s in range(-1, n + 1):
        assert poisson_binomial_cdf(probs, s) == pytest.approx(brute_force_cdf(probs, s), abs=1e-12)


def test_lattice_sum_matches_enumeration_with_steps() -> None:
    parts = [(1, [0.2, 0.5, 0.3]), (2, [0.6, 0.4]), (3, [0.1, 0.9])]
    for limit in range(0, 8):
        expected = sum(math.prod(parts[i][1][k] for i, k in enumerate(combo))
                       for combo in itertools.product(range(3), range(2), range(2))
                       if sum(parts[i][0] * k for i, k in enumerate(combo)) <= limit)
        assert lattice_sum_cdf(parts, limit) == pytest.approx(expected, abs=1e-12)


def test_deep_tails_neither_underflow_midway_nor_return_zero() -> None:
    # 300 cases at 0.9, at most 5 pass: the exact value is about 1e-284, far below where a naive sum would lose it
    exact = sum(math.comb(300, k) * 0.9**k * 0.1 ** (300 - k) for k in range(6))
    assert poisson_binomial_cdf([0.9] * 300, 5) == pytest.approx(exact, rel=1e-9)
    assert poisson_binomial_cdf([0.999] * 400, 0) == TINY  # 1e-1200 is not a float: the smallest positive one


def test_beta_binomial_pmf() -> None:
    assert beta_binomial_pmf(2, 1.0, 1.0) == pytest.approx([1 / 3, 1 / 3, 1 / 3])  # uniform prior
    assert sum(beta_binomial_pmf(7, 0.3, 2.5)) == pytest.approx(1.0)


def test_beta_binomial_fit_recovers_a_known_prior() -> None:
    rng = random.Random(1)
    counts = [sum(rng.random() < p for _ in range(6)) for p in (rng.betavariate(2.0, 0.8) for _ in range(4000))]
    a, b = fit_beta_binomial(counts, 6)
    assert a == pytest.approx(2.0, rel=0.2) and b == pytest.approx(0.8, rel=0.2)


def test_beta_binomial_fit_stays_in_bounds_on_all_or_nothing_data() -> None:
    a, b = fit_beta_binomial([4] * 60, 4)
    assert math.isfinite(a) and 0 < b < 0.01  # pushed to the bounds, never to 0 or inf


def test_mcnemar_against_a_hand_binomial() -> None:
    assert mcnemar_p(5, 1) == pytest.approx(7 / 64)  # P(X >= 5), X ~ Bin(6, 1/2) = (C(6,5) + C(6,6)) / 64
    assert mcnemar_p(0, 0) == 1.0
    assert mcnemar_p(0, 3) == 1.0


def test_sign_flip_is_exact_on_a_tiny_example() -> None:
    # |d| = {1, 2, 0.5}: the 8 sign patterns with sum <= -2.5 are (-,-,+) and (-,-,-)
    assert sign_flip_p([-1.0, -2.0, 0.5, 0.0]) == (0.25, True)
    assert sign_flip_p([0.0, 0.0]) == (1.0, True)


def test_sign_flip_monte_carlo_is_seeded() -> None:
    diffs = [-0.1 * (i % 3) for i in range(40)] + [0.05] * 10
    first, exact = sign_flip_p(diffs)
    assert not exact and sign_flip_p(diffs) == (first, False)
    assert 0 < first < 0.01


def test_holm_on_a_known_example() -> None:
    assert holm([0.01, 0.04, 0.03, 0.005]) == pytest.approx([0.03, 0.06, 0.06, 0.02])
    assert holm([0.5, 0.9]) == [1.0, 1.0]
    assert holm([]) == []


def test_mann_whitney_against_hand_examples() -> None:
    # U = 9, mean 4.5, var 3*3/12*7 = 5.25
    assert mann_whitney_greater([1, 2, 3], [4, 5, 6]) == pytest.approx(0.5 * math.erfc(4 / math.sqrt(5.25) / 2**0.5))
    # ties: ranks 1, 3, 3 | 3, 5, 6; U = 14 - 6 = 8; var = 9/12 * (7 - 24/30) = 4.65
    assert mann_whitney_greater([1, 2, 2], [2, 3, 4]) == pytest.approx(0.5 * math.erfc(3 / math.sqrt(4.65) / 2**0.5))
    assert mann_whitney_greater([2, 2], [2, 2]) == 1.0


# --- descriptive ------------------------------------------------------------------------------------------------


def test_percentile_interpolates_linearly() -> None:
    values = [4.0, 1.0, 3.0, 2.0]
    assert percentile(values, 50) == 2.5
    assert percentile(values, 95) == pytest.approx(3.85)
    assert (percentile(values, 0), percentile(values, 100), percentile([7.0], 95)) == (1.0, 4.0, 7.0)
    with pytest.raises(ValueError):
        percentile([], 50)
    with pytest.raises(ValueError):
        percentile(values, 101)


def test_summary_wilson_and_t() -> None:
    mean, low, high = summary([1.0] * 8 + [0.0] * 2)
    z, n = 1.959963984540054, 10
    centre = (0.8 + z * z / (2 * n)) / (1 + z * z / n)
    half = z / (1 + z * z / n) * math.sqrt(0.8 * 0.2 / n + z * z / (4 * n * n))
    assert (mean, low, high) == pytest.approx((0.8, centre - half, centre + half))
    assert summary([1.0, 2.0, 3.0]) == pytest.approx((2.0, 2.0 - 4.302653 / 3**0.5, 2.0 + 4.302653 / 3**0.5))
    assert summary([0.4]) == (0.4, -math.inf, math.inf)
    assert t_quantile(0.975, 10) == pytest.approx(2.2281, abs=1e-3)


# --- the decision rule --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("drop", "p", "status"), [(0.15, 0.01, "critical"), (0.15, 0.02, "alert"),
                                                   (0.05, 0.05, "alert"), (0.05, 0.06, "suspect"),
                                                   (0.049, 0.0001, "ok"), (-0.2, 0.5, "ok")])
def test_classification_boundaries(drop: float, p: float, status: str) -> None:
    assert classify(drop, p) == status


STEADY = runs_of("1111111111111111111100000", "1111111111111111111100000", "1111111111111111111100000",
                 "1111111111111111111100000")


def test_a_stable_suite_that_breaks_is_critical() -> None:
    current = runs_of("1111111111111000000000000")[0]
    v = detect(STEADY, current)
    assert v.status == "critical" and v.method == "poisson-binomial"
    assert v.baseline == pytest.approx(0.8) and v.current == pytest.approx(13 / 25) and v.drop == pytest.approx(0.35)
    assert 0 < v.p_value < 1e-6 if v.p_value is not None else False
    assert v.regressed_cases == tuple(f"c{i}" for i in range(13, 20))
    assert (v.cases, v.baseline_runs) == (25, 4)


def test_always_passing_suite_keeps_sane_p_values() -> None:
    history = [{f"c{i}": 1.0 for i in range(60)} for _ in range(4)]
    one = detect(history, {**history[0], "c0": 0.0})
    assert one.status == "ok" and one.p_value is not None and 0.05 < one.p_value < 0.2  # one slip of 240: noise
    three = detect(history, {**history[0], "c0": 0.0, "c1": 0.0, "c2": 0.0})
    assert three.status == "alert" and three.p_value is not None and 1e-5 < three.p_value < 1e-3
    assert three.mde is not None and 0.05 < three.mde < 0.07


def test_improvement_is_ok() -> None:
    v = detect(STEADY, runs_of("1111111111111111111111111")[0])
    assert v.status == "ok" and v.drop == pytest.approx(-0.25) and v.p_value == 1.0 and v.regressed_cases == ()


def test_insufficient_baseline_records_but_never_alerts() -> None:
    v = detect(STEADY[:2], runs_of("0000000000000000000000000")[0])
    assert v.status == "insufficient_baseline" and v.p_value is None and v.drop == pytest.approx(1.0)
    assert detect([], {"a": 1.0}).status == "insufficient_baseline"
    assert detect([], {"a": 1.0}, min_runs=0).status == "insufficient_baseline"


def test_too_few_cases_and_empty_intersection() -> None:
    v = detect(STEADY, runs_of("0000000000000000000000000")[0], min_cases=30)
    assert v.status == "too_few_cases" and v.p_value is not None  # still tested, informational
    empty = detect(STEADY, {"other": 0.0})
    assert empty.status == "too_few_cases" and empty.cases == 0 and empty.baseline is None


def test_pairs_only_on_cases_in_every_run() -> None:
    history = [{"a": 1.0, "b": 1.0, "c": 1.0}, {"a": 1.0, "b": 1.0}, {"a": 1.0, "b": 1.0, "c": 0.0}]
    v = detect(history, {"a": 1.0, "b": 0.0, "d": 0.0})
    assert (v.cases, v.current, v.regressed_cases) == (2, 0.5, ("b",))  # c is missing from one run, d from all


def test_a_baseline_of_zero_cannot_drop() -> None:
    history = [{"a": 0.0, "b": 0.0}] * 3
    v = detect(history, {"a": 1.0, "b": 0.0})
    assert v.status == "ok" and v.drop == 0.0 and v.mde is None and "nothing can drop" in v.note


@pytest.mark.parametrize("bad", [math.nan, math.inf, 1.5, -0.1, "1"])
def test_invalid_scores_are_refused(bad: object) -> None:
    with pytest.raises(ValueError, match="case 'c3'"):
        detect(STEADY, {**runs_of("1111111111111111111100000")[0], "c3": bad})  # type: ignore[dict-item]
    with pytest.raises(ValueError, match="baseline run 1"):
        detect([STEADY[0], {"c3": bad}, STEADY[2]], STEADY[3])  # type: ignore[dict-item]
    with pytest.raises(ValueError):
        verify_change({"c3": bad}, {"c3": 1.0})  # type: ignore[dict-item]


def test_invalid_thresholds_are_refused() -> None:
    with pytest.raises(ValueError, match="alert_p"):
        detect(STEADY, STEADY[0], alert_p=0.0)


def test_graded_scores_use_the_sign_flip_test() -> None:
    history = [{f"c{i}": 0.7 + 0.01 * ((i + r) % 3) for i in range(12)} for r in range(4)]
    current = {f"c{i}": 0.45 for i in range(12)}
    v = detect(history, current)
    assert v.method == "sign-flip-exact" and v.p_value == pytest.approx(1 / 4096)  # every one of 12 cases fell
    assert v.status == "critical" and len(v.regressed_cases) == 12


def test_categories_use_holm_and_leave_small_ones_informational() -> None:
    rng = random.Random(3)
    category_of = {f"m{i}": "math" for i in range(30)} | {f"w{i}": "writing" for i in range(30)}
    category_of |= {f"t{i}": "tiny" for i in range(5)}
    history = [{case: 1.0 if rng.random() < 0.8 or case.endswith("0") else 0.0 for case in category_of}
               for _ in range(4)]
    for run in history:  # math: stable, so a broken batch is unmistakable
        run.update({f"m{i}": 1.0 if i < 24 else 0.0 for i in range(30)})
    current = dict(history[0]) | {f"m{i}": 0.0 for i in range(18, 24)} | {f"t{i}": 0.0 for i in range(5)}
    verdicts = detect_categories(history, current, category_of)
    assert set(verdicts) == {"math", "writing", "tiny"}
    assert verdicts["tiny"].status == "too_few_cases"
    math_v = verdicts["math"]
    assert math_v.status == "critical" and math_v.raw_p_value is not None and math_v.p_value is not None
    family = [verdicts[name].raw_p_value or 1.0 for name in ("math", "writing")]
    assert [verdicts["math"].p_value, verdicts["writing"].p_value] == pytest.approx(holm(family))


def test_holm_can_turn_a_category_alert_into_suspect() -> None:
    # per category: 13 stable cases, 7 flaky ones; in "a" the current run passes only the 13 stable ones
    history = [{f"{cat}{i}": 1.0 if i < 13 or (r + i) % 2 else 0.0 for cat in "ab" for i in range(20)}
               for r in range(4)]
    current = {f"a{i}": 1.0 if i < 13 else 0.0 for i in range(20)} | {f"b{i}": history[0][f"b{i}"] for i in range(20)}
    alone = detect([{k: v for k, v in run.items() if k[0] == "a"} for run in history],
                   {k: v for k, v in current.items() if k[0] == "a"})
    together = detect_categories(history, current, {case: case[0] for case in current})
    assert alone.status == "alert" and alone.p_value is not None and 0.025 < alone.p_value < 0.05
    assert together["a"].raw_p_value == alone.p_value
    assert together["a"].p_value == pytest.approx(2 * alone.p_value) and together["a"].status == "suspect"


def test_pool_averages_reruns() -> None:
    current = {"a": 0.0, "b": 1.0, "c": 0.0}
    assert pool(current, {"a": 1.0}) == {"a": 0.5, "b": 1.0, "c": 0.0}
    assert pool(current, {"a": 1.0, "c": 0.0}, {"a": 1.0}) == pytest.approx({"a": 2 / 3, "b": 1.0, "c": 0.0})
    with pytest.raises(ValueError, match="z"):
        pool(current, {"z": 1.0})


def test_confirm_upholds_a_real_drop_and_clears_noise() -> None:
    rows = ["111111111111111111111111111111111111111111111111110000000000"] * 4
    history = runs_of(*rows)
    # 4 cases flaky in history (each passed 2 of 4 runs), so 3 failures of them alone are noise-sized
    for r, run in enumerate(history):
        run.update({f"c{i}": float((r + i) % 2) for i in range(40, 44)})
    current = dict(history[0]) | {f"c{i}": 0.0 for i in range(0, 4)}
    first = detect(history, current)
    assert first.regressed_cases[:4] == ("c0", "c1", "c2", "c3")
    failed_again = {case: 0.0 for case in first.regressed_cases}
    passed_again = {case: 1.0 for case in first.regressed_cases}
    held = confirm(history, current, failed_again, failed_again)
    cleared = confirm(history, current, passed_again, passed_again)
    assert held.method == "beta-binomial-confirmed" and held.drop == first.drop
    assert held.p_value is not None and first.p_value is not None and held.p_value < first.p_value
    assert held.status in ("alert", "critical") and cleared.status in ("ok", "suspect")


def test_detect_reads_reruns_from_pooled_scores() -> None:
    history = runs_of(*["1111111111111111111100000"] * 4)
    current = runs_of("1111111111111111000000000")[0]
    pooled = pool(current, {"c16": 1.0, "c17": 0.0, "c18": 0.0, "c19": 0.0})
    assert detect(history, pooled).method == "beta-binomial-confirmed"
    with pytest.raises(ValueError, match="mean of 3"):
        detect(history, pooled, reruns=2)


def test_verify_change_mcnemar_is_the_hand_binomial() -> None:
    pre = {f"c{i}": 1.0 for i in range(10)} | {"x": 0.0}
    post = dict(pre) | {f"c{i}": 0.0 for i in range(5)} | {"x": 1.0}
    v = verify_change(pre, post)
    assert v.method == "mcnemar" and v.p_value == pytest.approx(7 / 64) and v.status == "suspect"
    assert v.drop == pytest.approx((10 / 11 - 6 / 11) / (10 / 11)) and v.regressed_cases == tuple(f"c{i}"
                                                                                                  for i in range(5))
    assert v.mde is not None and v.mde >= 5 / 10  # 5 discordant failures are needed before 0.5**5 <= 0.05


def test_verify_change_graded_and_edge_cases() -> None:
    pre = {f"c{i}": 0.9 for i in range(6)}
    post = {f"c{i}": 0.6 for i in range(6)}
    v = verify_change(pre, post)
    assert v.method == "sign-flip-exact" and v.p_value == pytest.approx(1 / 64)
    assert v.status == "alert"  # a 33 % drop, but 1/64 > critical_p
    assert verify_change(pre, pre).status == "ok"
    assert verify_change(post, pre).drop < 0
    assert verify_change(pre, {"z": 1.0}).status == "too_few_cases"


# --- drift and latency ----------------------------------------------------------------------------------------


def test_cusum_first_step_by_hand() -> None:
    # flat warm-up: sigma0 = model_sd = 0.02; z = -0.1 / (0.02 * sqrt(1 + 1/4)); S = -z - 0.5
    drift = cusum([0.8] * 4 + [0.7], model_sd=0.02)
    assert not drift.alarm and drift.statistic == pytest.approx(0.1 / (0.02 * 1.25**0.5) - 0.5)
    assert drift.mu0 == pytest.approx(0.8) and (drift.sigma0, drift.weeks) == (0.02, 5)
    step = cusum([0.8] * 4 + [0.6], model_sd=0.02)
    assert step.alarm and step.index == 4 and step.statistic > step.threshold == 5.0


def test_cusum_alarms_on_a_step_drop_not_on_a_flat_series() -> None:
    wiggle = [0.01, -0.01, 0.005, -0.005, 0.0, 0.008, -0.008, 0.003]
    flat = [0.8 + wiggle[w % 8] for w in range(40)]
    assert not cusum(flat).alarm and not cusum(flat, model_sd=0.01).alarm
    dropped = flat[:20] + [x - 0.05 for x in flat[20:]]
    drift = cusum(dropped, model_sd=0.01)
    assert drift.alarm and drift.index is not None and 20 <= drift.index <= 23


def test_cusum_edge_cases() -> None:
    assert cusum([0.8, 0.8]).mu0 is None and not cusum([]).alarm
    assert cusum([0.8] * 10).alarm is False  # perfectly flat: sigma0 has a floor, no division by zero
    with pytest.raises(ValueError):
        cusum([0.8, math.nan, 0.8, 0.8, 0.8])
    with pytest.raises(ValueError):
        cusum([0.8] * 5, warmup=0)


def test_latency_regression_needs_both_ratio_and_significance() -> None:
    baseline = [1.0 + 0.05 * i for i in range(20)]
    slower = [x * 1.5 for x in baseline]
    v = latency_regression(baseline, slower)
    assert v.regressed and v.ratio == pytest.approx(1.5) and v.p_value is not None and v.p_value < 0.01
    assert v.baseline_p95 == pytest.approx(percentile(baseline, 95))
    slightly = [x + 0.2 for x in baseline]  # stochastically larger, p95 only ~1.1x
    assert not latency_regression(baseline, slightly).regressed
    short = latency_regression(baseline[:5], slower[:5])
    assert not short.regressed and short.p_value is None and short.ratio == pytest.approx(1.5)
    with pytest.raises(ValueError, match="current latency #1"):
        latency_regression(baseline, [1.0, -1.0])

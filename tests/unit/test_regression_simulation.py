"""Statistical behaviour of regression detection by seeded simulation (issue 5's acceptance criteria).

Suites as in benchmark_anchors.md Appendix A. Scenario A (temperature-0 API): 90 % of cases deterministic (pass
probability 1 with P = 0.82, else 0), 10 % flaky with pass probability U(0.2, 0.8). Scenario B (sampled): pass
probability ~ Beta(0.8, 0.2). A regression lowers the pass probabilities of randomly chosen cases until the expected
mean falls by the given relative amount. Each trial draws a fresh suite. `pytest -s` prints the measured rates.
"""

from __future__ import annotations

import random
from collections.abc import Callable

import pytest

from agents.drift import cusum
from agents.regression import Verdict, confirm, detect, verify_change

N_CASES, K = 60, 4
Scenario = Callable[[random.Random], list[float]]


def scenario_a(rng: random.Random) -> list[float]:
    return [(1.0 if rng.random() < 0.82 else 0.0) if rng.random() < 0.9 else rng.uniform(0.2, 0.8)
            for _ in range(N_CASES)]


def scenario_b(rng: random.Random) -> list[float]:
    return [rng.betavariate(0.8, 0.2) for _ in range(N_CASES)]


SCENARIOS: dict[str, Scenario] = {"A": scenario_a, "B": scenario_b}


def run(rng: random.Random, probs: list[float]) -> dict[str, float]:
    return {f"c{i}": 1.0 if rng.random() < p else 0.0 for i, p in enumerate(probs)}


def regress(rng: random.Random, probs: list[float], relative: float) -> list[float]:
    lowered, needed = list(probs), relative * sum(probs)
    order = list(range(len(probs)))
    rng.shuffle(order)
    for i in order:
        if needed <= 1e-12:
            break
        cut = min(lowered[i], needed)
        lowered[i] -= cut
        needed -= cut
    return lowered


def flagged(verdict: Verdict) -> bool:
    return verdict.status in ("alert", "critical")


def trials(scenario: str, relative: float, count: int, seed: int) -> tuple[list[Verdict], float]:
    """(our verdicts, naive false-alarm/detection rate of C < 0.95 * B) over `count` fresh suites."""
    rng = random.Random(seed)
    verdicts, naive = [], 0
    for _ in range(count):
        probs = SCENARIOS[scenario](rng)
        history = [run(rng, probs) for _ in range(K)]
        current = run(rng, regress(rng, probs, relative) if relative else probs)
        verdicts.append(detect(history, current))
        baseline = sum(sum(r.values()) for r in history) / (K * N_CASES)
        naive += sum(current.values()) / N_CASES < 0.95 * baseline
    return verdicts, naive / count


def rate(verdicts: list[Verdict]) -> float:
    return sum(map(flagged, verdicts)) / len(verdicts)


@pytest.mark.parametrize("scenario", ["A", "B"])
def test_no_change_rarely_alerts_and_beats_the_naive_rule(scenario: str) -> None:
    verdicts, naive = trials(scenario, 0.0, 600, seed=101)
    ours = rate(verdicts)
    mde = sum(v.mde or 0.0 for v in verdicts) / len(verdicts)
    suspect = sum(v.status == "suspect" for v in verdicts) / len(verdicts)
    print(f"\n[no change, scenario {scenario}, n={N_CASES}, K={K}, 600 runs] false alarms: ours {ours:.1%}, "
          f"naive {naive:.1%}; suspect {suspect:.1%}; mean MDE {mde:.1%}")
    assert ours < 0.05
    if scenario == "B":
        assert ours < naive


def test_a_15_percent_drop_is_caught() -> None:
    verdicts, naive = trials("A", 0.15, 500, seed=202)
    power = rate(verdicts)
    critical = sum(v.status == "critical" for v in verdicts) / len(verdicts)
    b_verdicts, _ = trials("B", 0.15, 300, seed=203)
    print(f"\n[15 % drop, 500 runs] scenario A: alert or critical {power:.1%} (critical {critical:.1%}, naive "
          f"{naive:.1%}); scenario B (300 runs): {rate(b_verdicts):.1%}")
    assert power >= 0.90


def test_power_at_the_reported_mde_is_near_80_percent() -> None:
    verdicts, _ = trials("A", 0.0, 200, seed=303)
    mde = sum(v.mde or 0.0 for v in verdicts) / len(verdicts)
    at_mde, _ = trials("A", mde, 400, seed=304)
    print(f"\n[scenario A] MDE {mde:.1%}; measured power at that drop {rate(at_mde):.1%} (400 runs, nominal 80 %)")
    assert 0.6 <= rate(at_mde) <= 0.95


def test_confirming_every_flagged_run_keeps_false_alarms_near_alpha() -> None:
    """Procedure: detect; for anything not ok, re-run the regressed cases twice and act on `confirm`'s verdict."""
    for relative, runs in ((0.0, 400), (0.15, 200)):
        rng = random.Random(404)
        single = confirmed = 0
        for _ in range(runs):
            probs = scenario_b(rng)
            true_probs = regress(rng, probs, relative) if relative else probs
            history = [run(rng, probs) for _ in range(K)]
            current = run(rng, true_probs)
            first = detect(history, current)
            single += flagged(first)
            if first.status != "ok":
                redo = [{c: 1.0 if rng.random() < true_probs[int(c[1:])] else 0.0 for c in first.regressed_cases}
                        for _ in range(2)]
                confirmed += flagged(confirm(history, current, *redo))
        print(f"\n[scenario B, drop {relative:.0%}, {runs} runs] flagged: single run {single / runs:.1%}, "
              f"after confirmation {confirmed / runs:.1%}")
        if relative == 0.0:
            assert confirmed / runs < 0.07


def test_cusum_is_quiet_on_flat_years_and_catches_a_2_sigma_drop() -> None:
    rng = random.Random(505)
    for model_sd in (None, 1.0):
        false_alarms = caught = 0
        delays = []
        for _ in range(300):
            false_alarms += cusum([rng.gauss(0, 1) for _ in range(52)], model_sd=model_sd).alarm
            drift = cusum([rng.gauss(0, 1) - (2.0 if week >= 20 else 0.0) for week in range(52)], model_sd=model_sd)
            if drift.index is not None and 20 <= drift.index < 30:
                caught += 1
                delays.append(drift.index - 20 + 1)
        print(f"\n[CUSUM k=0.5 h=5, model_sd={model_sd}, 300 years] flat years alarming {false_alarms / 300:.1%}; "
              f"2-sigma drop at week 20 caught within 10 weeks {caught / 300:.1%}, "
              f"mean delay {sum(delays) / max(1, len(delays)):.1f} weeks")
        assert false_alarms / 300 < 0.10
        assert caught / 300 >= 0.80


def test_verify_change_flags_a_15_percent_drop_and_rarely_noise() -> None:
    def flag_rate(scenario: str, relative: float, seed: int) -> float:
        rng = random.Random(seed)
        hits = 0
        for _ in range(500):
            probs = SCENARIOS[scenario](rng)
            pre = run(rng, probs)
            hits += flagged(verify_change(pre, run(rng, regress(rng, probs, relative) if relative else probs)))
        return hits / 500

    null_a, null_b, power_a = flag_rate("A", 0.0, 606), flag_rate("B", 0.0, 607), flag_rate("A", 0.15, 608)
    print(f"\n[verify_change, 500 runs each] no change: A {null_a:.1%}, B {null_b:.1%}; 15 % drop, A {power_a:.1%}")
    assert null_a < 0.05 and null_b < 0.05
    assert power_a > 0.5

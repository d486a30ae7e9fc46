"""Latency regressions: a p95 that grew by a factor AND a rank test that says the growth is real (the asv rule)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from agents.stats import mann_whitney_greater, percentile


@dataclass(frozen=True)
class LatencyVerdict:
    regressed: bool
    ratio: float | None  # current p95 / baseline p95; None when a p95 is missing or the baseline's is 0
    p_value: float | None  # one-sided Mann-Whitney U; None with fewer than min_samples on either side
    baseline_p95: float | None
    current_p95: float | None


def latency_regression(baseline: Sequence[float], current: Sequence[float], *, min_ratio: float = 1.2,
                       alpha: float = 0.01, min_samples: int = 10) -> LatencyVerdict:
    """Regressed only when p95 grew by >= ``min_ratio`` and current latencies are stochastically larger at ``alpha``.

    Latencies are per-request seconds (or any unit, the same on both sides), finite and >= 0. Leave out retried,
    rate-limited and cached requests before calling: they measure the provider's queue, not the model.
    """
    for label, sample in (("baseline", baseline), ("current", current)):
        for i, value in enumerate(sample):
            if not (isinstance(value, int | float) and math.isfinite(value) and value >= 0):
                raise ValueError(f"{label} latency #{i} is {value!r}; latencies must be finite numbers >= 0")
    baseline_p95 = percentile(baseline, 95) if baseline else None
    current_p95 = percentile(current, 95) if current else None
    ratio = current_p95 / baseline_p95 if current_p95 is not None and baseline_p95 else None
    if len(baseline) < min_samples or len(current) < min_samples:
        return LatencyVerdict(False, ratio, None, baseline_p95, current_p95)
    p_value = mann_whitney_greater(baseline, current)
    regressed = ratio is not None and ratio >= min_ratio and p_value < alpha
    return LatencyVerdict(regressed, ratio, p_value, baseline_p95, current_p95)

"""Statistics for regression detection, standard library only: exact tails, permutation and rank tests, intervals."""

from __future__ import annotations

import math
import random
import sys
from collections import Counter
from collections.abc import Sequence
from statistics import NormalDist, fmean, stdev

_NORMAL = NormalDist()
SEED = 0x5EED  # every Monte Carlo here is seeded: the same input always gives the same p-value
TINY = sys.float_info.min  # a p-value that is positive but would underflow is reported as this, never as 0


def normal_upper(z: float) -> float:
    """P(Z >= z) for a standard normal, accurate far into the tail (erfc, not 1 - cdf)."""
    return 0.5 * math.erfc(z / math.sqrt(2.0))


def normal_quantile(q: float) -> float:
    return _NORMAL.inv_cdf(q)


def t_quantile(q: float, df: int) -> float:
    """Student-t quantile: exact for 1 and 2 degrees of freedom, else the Cornish-Fisher expansion (A&S 26.7.5)."""
    if df < 1:
        raise ValueError(f"degrees of freedom must be >= 1, got {df}")
    if df == 1:
        return math.tan(math.pi * (q - 0.5))
    if df == 2:
        return (2 * q - 1) / math.sqrt(2 * q * (1 - q))
    z, v = normal_quantile(q), float(df)
    return (z + (z**3 + z) / (4 * v) + (5 * z**5 + 16 * z**3 + 3 * z) / (96 * v**2)
            + (3 * z**7 + 19 * z**5 + 17 * z**3 - 15 * z) / (384 * v**3)
            + (79 * z**9 + 776 * z**7 + 1482 * z**5 - 1920 * z**3 - 945 * z) / (92160 * v**4))


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0..100) with linear interpolation between order statistics (numpy's default)."""
    if not values:
        raise ValueError("percentile of no values")
    if not 0 <= q <= 100:
        raise ValueError(f"percentile q must be in [0, 100], got {q}")
    ordered = sorted(values)
    position = (len(ordered) - 1) * q / 100
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def summary(values: Sequence[float], level: float = 0.95) -> tuple[float, float, float]:
    """(mean, low, high): the Wilson score interval for 0/1 data, else a Student-t interval on the mean.

    A single non-binary value says nothing about spread: its interval is (-inf, inf)."""
    if not values:
        raise ValueError("summary of no values")
    if not 0 < level < 1:
        raise ValueError(f"level must be in (0, 1), got {level}")
    n, mean = len(values), fmean(values)
    tail = 1 - (1 - level) / 2
    if all(v in (0, 1) for v in values):
        z = normal_quantile(tail)
        shrink = 1 + z * z / n
        centre = (mean + z * z / (2 * n)) / shrink
        half = z / shrink * math.sqrt(mean * (1 - mean) / n + z * z / (4 * n * n))
        return mean, max(0.0, centre - half), min(1.0, centre + half)
    if n == 1:
        return mean, -math.inf, math.inf
    half = t_quantile(tail, n - 1) * stdev(values) / math.sqrt(n)
    return mean, mean - half, mean + half


def lattice_sum_cdf(parts: Sequence[tuple[int, Sequence[float]]], limit: int) -> float:
    """P(X_1 + ... + X_n <= limit) for independent X_i that take the value k * step_i with probability probs_i[k].

    An exact dynamic programme over partial sums, truncated at ``limit``: the parts are non-negative, so mass above
    the limit never comes back and is dropped (O(n * limit * support)). Only additions and products of non-negative
    numbers occur, so nothing cancels; the surviving mass is renormalised whenever it gets small and its logarithm
    carried, so deep tails do not underflow midway.
    """
    if limit < 0:
        return 0.0
    if limit >= sum(step * (len(probs) - 1) for step, probs in parts):
        return 1.0
    dist = [1.0] + [0.0] * limit
    log_mass = 0.0
    for step, probs in parts:
        new = [0.0] * (limit + 1)
        for k, prob in enumerate(probs):
            shift = k * step
            if shift > limit:
                break
            if prob > 0:
                new[shift:] = [acc + v * prob for acc, v in zip(new[shift:], dist, strict=False)]
        mass = math.fsum(new)
        if mass <= 0:
            return 0.0
        if mass < 1e-150:
            log_mass += math.log(mass)
            new = [v / mass for v in new]
        dist = new
    result = math.exp(log_mass) * math.fsum(dist)
    return min(1.0, max(result, TINY))


def poisson_binomial_cdf(probs: Sequence[float], successes: int) -> float:
    """P(S <= successes) where S is the number of successes of independent Bernoulli(p_i) trials."""
    if successes >= len(probs):
        return 1.0
    return lattice_sum_cdf([(1, (1.0 - p, p)) for p in probs], successes)


def log_beta(a: float, b: float) -> float:
    return math.lgamma(a) + math.lgamma(b) - math.lgamma(a + b)


def beta_binomial_pmf(trials: int, a: float, b: float) -> list[float]:
    """P(k successes in ``trials``) for k = 0..trials, when the success probability is drawn from Beta(a, b)."""
    base = log_beta(a, b)
    return [math.exp(math.lgamma(trials + 1) - math.lgamma(k + 1) - math.lgamma(trials - k + 1)
                     + log_beta(k + a, trials - k + b) - base) for k in range(trials + 1)]


PRIOR_BOUNDS = (1e-3, 1e4)


def fit_beta_binomial(counts: Sequence[int], trials: int) -> tuple[float, float]:
    """Maximum-likelihood Beta(a, b) for per-case success counts out of ``trials`` each (empirical Bayes).

    Searched in (log a, log b) over PRIOR_BOUNDS: a 15 x 15 grid, then a pattern search (8 directions) that halves
    its step down to 1e-3. All-or-nothing data (every case always passes or always fails) push the optimum to the
    lower bound, and all-passing data to a -> upper bound: callers keep predictive probabilities off 0 and 1.
    """
    if trials < 1 or not counts or any(not 0 <= c <= trials for c in counts):
        raise ValueError("beta-binomial fit needs counts in [0, trials] and at least one trial")
    tally = Counter(counts)
    n = len(counts)

    def loglik(log_a: float, log_b: float) -> float:
        a, b = math.exp(log_a), math.exp(log_b)
        return sum(m * log_beta(c + a, trials - c + b) for c, m in tally.items()) - n * log_beta(a, b)

    low, high = (math.log(x) for x in PRIOR_BOUNDS)
    step = (high - low) / 14
    grid = [low + step * i for i in range(15)]
    best, x, y = max((loglik(gx, gy), gx, gy) for gx in grid for gy in grid)
    moves = [(1, 0), (-1, 0), (0, 1), (0, -1), (1, 1), (-1, -1), (1, -1), (-1, 1)]
    while step > 1e-3:
        for dx, dy in moves:
            nx, ny = min(high, max(low, x + dx * step)), min(high, max(low, y + dy * step))
            value = loglik(nx, ny)
            if value > best + 1e-12:
                best, x, y = value, nx, ny
                break
        else:
            step /= 2
    return math.exp(x), math.exp(y)


def mcnemar_p(worse: int, better: int) -> float:
    """Exact one-sided McNemar: P(X >= worse) for X ~ Binomial(worse + better, 1/2) over the discordant pairs."""
    n = worse + better
    if n == 0:
        return 1.0
    return max(TINY, sum(math.comb(n, j) for j in range(worse, n + 1)) / (1 << n))


def sign_flip_p(diffs: Sequence[float], *, flips: int = 10_000, seed: int = SEED) -> tuple[float, bool]:
    """One-sided sign-flip permutation test that the paired differences are centred below 0: (p-value, exact).

    p = P(sum of randomly signed |d_i| <= sum of d_i). Exact over all 2^m sign patterns of the m non-zero
    differences when 2^m <= flips; otherwise ``flips`` seeded random patterns, p = (1 + hits) / (1 + flips).
    Subset sums are looked up in 8-bit tables, so a pattern costs m/8 additions.
    """
    magnitudes = [abs(d) for d in diffs if d != 0]
    m = len(magnitudes)
    if m == 0:
        return 1.0, True
    # sum(eps_i |d_i|) <= sum(d_i)  <=>  the |d_i| flipped negative sum to at least the observed negative part
    observed_negative = math.fsum(-d for d in diffs if d < 0)
    target = observed_negative - 1e-9 * (math.fsum(magnitudes) + 1.0)
    if 2**m <= flips:
        sums = _subset_sums(magnitudes)
        return sum(1 for s in sums if s >= target) / len(sums), True
    tables = [_subset_sums(magnitudes[i:i + 8]) for i in range(0, m, 8)]
    rng = random.Random(seed)
    hits = 0
    for _ in range(flips):
        bits = rng.getrandbits(m)
        total = 0.0
        for table in tables:
            total += table[bits & 255]
            bits >>= 8
        if total >= target:
            hits += 1
    return (1 + hits) / (1 + flips), False


def _subset_sums(values: Sequence[float]) -> list[float]:
    """sums[mask] = the sum of values[j] over the bits j set in mask."""
    sums = [0.0]
    for value in values:
        sums += [s + value for s in sums]
    return sums


def mann_whitney_greater(baseline: Sequence[float], current: Sequence[float]) -> float:
    """One-sided Mann-Whitney U p-value that ``current`` is stochastically larger than ``baseline``.

    Normal approximation with mid-ranks, the tie correction of the variance and a continuity correction of 0.5.
    """
    n_b, n_c = len(baseline), len(current)
    if n_b == 0 or n_c == 0:
        raise ValueError("Mann-Whitney U needs two non-empty samples")
    pooled = sorted([(v, 0) for v in baseline] + [(v, 1) for v in current])
    n = n_b + n_c
    rank_sum_current, ties, i = 0.0, 0.0, 0
    while i < n:
        j = i
        while j + 1 < n and pooled[j + 1][0] == pooled[i][0]:
            j += 1
        mid_rank = (i + j) / 2 + 1
        rank_sum_current += mid_rank * sum(label for _, label in pooled[i:j + 1])
        t = j - i + 1
        ties += t**3 - t
        i = j + 1
    u_current = rank_sum_current - n_c * (n_c + 1) / 2
    variance = n_b * n_c / 12 * ((n + 1) - ties / (n * (n - 1)))
    if variance <= 0:
        return 1.0
    return normal_upper((u_current - n_b * n_c / 2 - 0.5) / math.sqrt(variance))


def holm(p_values: Sequence[float]) -> list[float]:
    """Holm-Bonferroni adjusted p-values, in the input order (step-down, monotone, capped at 1)."""
    order = sorted(range(len(p_values)), key=lambda i: p_values[i])
    adjusted = [1.0] * len(p_values)
    running = 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (len(p_values) - rank) * p_values[i]))
        adjusted[i] = running
    return adjusted

"""Scoring a model 0-100 with a visible breakdown; what is not known is said to be unknown, never invented."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

PERMISSIVE = {"apache-2.0", "mit", "bsd-3-clause", "bsd-2-clause", "bsd", "cc-by-4.0", "openrail", "openrail++",
              "llama3", "llama3.1", "llama3.2", "llama3.3", "llama4", "gemma", "qwen", "deepseek", "mpl-2.0"}
NON_COMMERCIAL = {"cc-by-nc-4.0", "cc-by-nc-sa-4.0", "cc-by-nc-nd-4.0", "cc-by-nc-2.0", "research-only", "other-nc"}


@dataclass(frozen=True)
class Weights:
    popularity: float = 0.30
    performance: float = 0.35
    recency: float = 0.15
    compatibility: float = 0.20


DEFAULT_WEIGHTS = Weights()


@dataclass
class Facts:
    """What we know of a model, from any source; None means unknown."""

    model_id: str
    downloads: int | None = None
    likes: int | None = None
    created: datetime | None = None
    own_score: float | None = None  # our benchmark, 0..1
    published_index: float | None = None  # a published benchmark index, 0..100
    license: str | None = None
    gated: bool | None = None
    inference: bool | None = None  # can be called through an API we use
    free_tier: bool | None = None


@dataclass
class Score:
    model_id: str
    total: float
    parts: dict[str, float | None]
    confidence: float  # the share of the weight that rests on known facts
    notes: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {"model_id": self.model_id, "score": round(self.total, 1), "confidence": round(self.confidence, 2),
                "breakdown": {k: (round(v, 1) if v is not None else "unknown") for k, v in self.parts.items()},
                "notes": self.notes}


def _log_scale(value: int, full: float) -> float:
    return min(100.0, 100.0 * math.log10(1 + value) / math.log10(1 + full))


def popularity(facts: Facts) -> float | None:
    parts = [_log_scale(facts.downloads, 1e7) if facts.downloads is not None else None,
             _log_scale(facts.likes, 1e4) if facts.likes is not None else None]
    known = [p for p in parts if p is not None]
    return sum(known) / len(known) if known else None


def performance(facts: Facts) -> tuple[float | None, str]:
    if facts.own_score is not None:
        return 100.0 * max(0.0, min(1.0, facts.own_score)), "our benchmark"
    if facts.published_index is not None:
        return max(0.0, min(100.0, facts.published_index)), "published benchmark"
    return None, "no benchmark result yet"


def recency(facts: Facts, now: datetime) -> float | None:
    """100 under 30 days old, falling linearly to 20 at 365 days, 20 after."""
    if facts.created is None:
        return None
    days = (now - facts.created).days
    if days <= 30:
        return 100.0
    if days >= 365:
        return 20.0
    return 100.0 - 80.0 * (days - 30) / (365 - 30)


def commercial_use(license_name: str | None) -> bool | None:
    if not license_name:
        return None
    name = license_name.lower()
    if name in NON_COMMERCIAL or "-nc" in name:
        return False
    return True if name in PERMISSIVE else None


def compatibility(facts: Facts) -> float | None:
    checks = [commercial_use(facts.license), facts.inference,
              None if facts.gated is None else not facts.gated, facts.free_tier]
    known = [c for c in checks if c is not None]
    return 100.0 * sum(known) / len(known) if known else None


def score(facts: Facts, now: datetime, weights: Weights = DEFAULT_WEIGHTS) -> Score:
    perf, perf_note = performance(facts)
    parts = {"popularity": popularity(facts), "performance": perf, "recency": recency(facts, now),
             "compatibility": compatibility(facts)}
    weight = {"popularity": weights.popularity, "performance": weights.performance, "recency": weights.recency,
              "compatibility": weights.compatibility}
    known = {name: value for name, value in parts.items() if value is not None}
    known_weight = sum(weight[name] for name in known)
    total = sum(weight[name] * value for name, value in known.items()) / known_weight if known_weight else 0.0
    notes = [f"performance: {perf_note}"] + [f"{name}: unknown" for name, value in parts.items() if value is None]
    return Score(facts.model_id, total, parts, known_weight / sum(weight.values()), notes)

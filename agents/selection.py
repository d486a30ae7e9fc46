"""Choosing a model for a task on given hardware: sizes, filters, ranking with reasons."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from agents.scoring import DEFAULT_WEIGHTS, Facts, Weights, score

# Memory a model may take on each hardware class, in MB (weights in 16-bit, with room for activations).
HARDWARE_MB = {"cpu-small": 1_500, "cpu-medium": 6_000, "cpu-large": 24_000, "gpu-small": 12_000,
               "gpu-medium": 36_000, "gpu-large": 120_000}
SIZE_CLASSES = (("tiny", 500), ("small", 2_000), ("base", 8_000), ("large", float("inf")))  # upper bounds, MB
FRAMEWORK_TAGS = {"pytorch": {"pytorch", "transformers", "safetensors"}, "tensorflow": {"tf", "tensorflow", "keras"},
                  "jax": {"jax", "flax"}}
_NAME_SIZE = re.compile(r"(?<![a-z0-9])(\d+(?:\.\d+)?)([bm])(?![a-z0-9])", re.IGNORECASE)


@dataclass
class Candidate:
    model_id: str
    score: float
    size_mb: float | None
    size_class: str
    reasons: list[str] = field(default_factory=list)
    breakdown: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {"id": self.model_id, "score": round(self.score, 1), "size_mb": round(self.size_mb)
                if self.size_mb is not None else None, "size_class": self.size_class, "reasons": self.reasons,
                "breakdown": self.breakdown}


def size_mb(model: dict[str, Any]) -> tuple[float | None, str]:
    """Estimated 16-bit weight size and how it was estimated (parameter count, the name, or unknown)."""
    if isinstance(model.get("parameters"), (int, float)) and model["parameters"] > 0:
        return model["parameters"] * 2 / 1e6, "from the parameter count"
    match = _NAME_SIZE.search(str(model.get("id", "")).split("/")[-1])
    if match:
        count = float(match[1]) * (1e9 if match[2].lower() == "b" else 1e6)
        return count * 2 / 1e6, f"from the name ({match[0]})"
    return None, "size unknown"


def size_class(mb: float | None) -> str:
    if mb is None:
        return "unknown"
    return next(label for label, bound in SIZE_CLASSES if mb <= bound)


def smaller(label: str) -> str | None:
    names = [name for name, _ in SIZE_CLASSES]
    return names[names.index(label) - 1] if label in names and names.index(label) > 0 else None


def frameworks(model: dict[str, Any]) -> set[str]:
    tags = {str(t).lower() for t in model.get("tags") or []} | {str(model.get("library") or "").lower()}
    return {name for name, markers in FRAMEWORK_TAGS.items() if tags & markers}


def facts(model: dict[str, Any]) -> Facts:
    created = model.get("created_at")
    return Facts(model["id"], downloads=model.get("downloads"), likes=model.get("likes"),
                 created=datetime.fromisoformat(created) if created else None, license=model.get("license"),
                 gated=model.get("gated"), inference=None, free_tier=True if model.get("license") else None)


def budget_mb(hardware: str | None, max_size_mb: float | None) -> float | None:
    limits = [x for x in (HARDWARE_MB.get(hardware or ""), max_size_mb) if x is not None]
    return min(limits) if limits else None


def rank(models: Iterable[dict[str, Any]], task: str, now: datetime, hardware: str | None = None,
         max_size_mb: float | None = None, framework: str | None = None, only_class: str | None = None,
         weights: Weights = DEFAULT_WEIGHTS) -> list[Candidate]:
    """Candidates for a task that fit the limits (and one size class, if given), best first, with reasons."""
    budget = budget_mb(hardware, max_size_mb)
    found = []
    for model in models:
        if task not in (model.get("tasks") or [model.get("pipeline_tag")]):
            continue
        mb, how = size_mb(model)
        if budget is not None and (mb is None or mb > budget):
            continue
        if only_class is not None and size_class(mb) != only_class:
            continue
        if framework and framework not in frameworks(model):
            continue
        result = score(facts(model), now, weights)
        reasons = [f"score {result.total:.0f}/100 (confidence {result.confidence:.0%})",
                   f"{size_class(mb)} model, ~{mb:,.0f} MB {how}" if mb is not None else how]
        if model.get("license"):
            reasons.append(f"licence {model['license']}")
        if model.get("gated"):
            reasons.append("gated: needs an accepted licence on the Hub")
        found.append(Candidate(model["id"], result.total, mb, size_class(mb), reasons, result.to_json()["breakdown"]))
    return sorted(found, key=lambda c: (-c.score, c.model_id))

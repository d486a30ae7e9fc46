"""Metrics of a benchmark run, per model and category, from its per-case records.

The overall score is micro-averaged (every case weighs the same), like the paired test that judges it. Latency
counts only requests that answered at the first attempt (a retried request's time says more about the queue than
about the model). A model whose error rate is over the limit has an invalid run: recorded, never a regression.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from agents.regression import percentile, summary

MAX_ERROR_RATE = 0.10


@dataclass
class Group:
    cases: int = 0
    errors: int = 0
    unparsed: int = 0
    scores: list[float] = field(default_factory=list)
    passes: list[float] = field(default_factory=list)
    latencies: list[float] = field(default_factory=list)

    def add(self, record: Mapping[str, Any]) -> None:
        self.cases += 1
        if record.get("status") != "scored":
            self.errors += 1
            return
        self.scores.append(float(record["score"]))
        self.passes.append(1.0 if record.get("passed") else 0.0)
        self.unparsed += bool(record.get("unparsed"))
        self.latencies += latencies([record])

    def metrics(self) -> dict[str, Any]:
        scored = len(self.scores)
        score, low, high = summary(self.scores) if scored else (None, None, None)
        return {
            "score": score, "ci_low": low, "ci_high": high,
            "pass_rate": sum(self.passes) / scored if scored else None,
            "latency_mean": sum(self.latencies) / len(self.latencies) if self.latencies else None,
            "latency_p95": percentile(self.latencies, 95) if self.latencies else None,
            "cases": self.cases, "scored": scored, "errors": self.errors,
            "error_rate": self.errors / self.cases if self.cases else 0.0,
            "unparsed_rate": self.unparsed / scored if scored else 0.0,
        }


@dataclass
class ModelMetrics:
    model: str
    overall: dict[str, Any]
    categories: dict[str, dict[str, Any]]

    @property
    def valid(self) -> bool:
        return bool(self.overall["cases"]) and self.overall["error_rate"] <= MAX_ERROR_RATE

    def to_json(self) -> dict[str, Any]:
        """The `improve bench --json` shape for one model."""
        o = self.overall
        return {"overall": o["score"], "pass_rate": o["pass_rate"], "latency_mean": o["latency_mean"],
                "latency_p95": o["latency_p95"], "ci": [o["ci_low"], o["ci_high"]], "error_rate": o["error_rate"],
                "unparsed_rate": o["unparsed_rate"], "cases": o["cases"], "valid": self.valid,
                "categories": {name: c["score"] for name, c in sorted(self.categories.items())}}


def measure(records: Iterable[Mapping[str, Any]]) -> dict[str, ModelMetrics]:
    overall: dict[str, Group] = defaultdict(Group)
    by_category: dict[str, dict[str, Group]] = defaultdict(lambda: defaultdict(Group))
    for record in records:
        overall[record["model"]].add(record)
        by_category[record["model"]][record["category"]].add(record)
    return {model: ModelMetrics(model, group.metrics(),
                                {name: g.metrics() for name, g in sorted(by_category[model].items())})
            for model, group in sorted(overall.items())}


def case_scores(records: Iterable[Mapping[str, Any]]) -> dict[str, float]:
    """Case id -> score of the scored cases (errors are not scores: they leave the pairing)."""
    return {str(r["case_id"]): float(r["score"]) for r in records if r.get("status") == "scored"}


def latencies(records: Iterable[Mapping[str, Any]]) -> list[float]:
    """Latencies of the scored requests answered at the first attempt (the only ones timed honestly)."""
    return [float(r["latency"]) for r in records
            if r.get("status") == "scored" and r.get("latency") is not None and not r.get("retries")]


def categories_of(records: Sequence[Mapping[str, Any]]) -> dict[str, str]:
    return {str(r["case_id"]): str(r["category"]) for r in records}

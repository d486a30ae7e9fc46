"""What the planner's parts share: the promotion gate, the planning situation and a draft change (a plan item
before its id, its verification targets and the check against the live config)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from agents.families import parse
from agents.risk import ChangeFacts
from blackboard.live_config import LiveConfig, ModelSpec

# Lower first: a critical regression, then routed models going away, ... down to research to evaluate.
PRIORITY = {"regression": 0, "removed": 10, "inactive": 15, "deprecated": 20, "review": 30, "big_reprice": 30,
            "upgrade": 40, "submitted": 50, "reprice": 60, "context": 60, "retire": 70, "add": 80, "ranking": 90,
            "research": 100}
BENCHMARK_MARGIN = 0.02  # a newer model may score this much below the one it replaces


@dataclass(frozen=True)
class Gate:
    """When a new model may enter a routing pool. Benchmark results come from ``plan``'s ``scores``."""

    min_age_days: float = 7
    min_uptime_samples: int = 3
    uptime_samples: Mapping[str, int] = field(default_factory=dict)
    margin: float = BENCHMARK_MARGIN


@dataclass(frozen=True)
class Draft:
    subject: str
    title: str
    target: str
    facts: ChangeFacts
    patch: tuple[dict[str, Any], ...]
    reason: str
    evidence: tuple[str, ...]
    priority: int
    waiting_for: tuple[str, ...] = ()


@dataclass(frozen=True)
class Situation:
    """Everything a planning rule reads besides the entries."""

    config: LiveConfig
    now: datetime
    gate: Gate
    scores: Mapping[str, Mapping[str, float]]
    catalog: Mapping[str, Mapping[str, Any]]
    seen_at: Mapping[str, datetime]  # when a model was first seen new in these entries (its spec's added_at)

    @property
    def routed(self) -> frozenset[str]:
        return self.config.routed_models()

    def score(self, model: str, category: str) -> float | None:
        value = self.scores.get(model, {}).get(category)
        return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None

    def active(self, model: str) -> bool:
        spec = self.config.models.get(model)
        return spec is not None and spec.active

    def routes_naming(self, model: str) -> list[str]:
        return sorted(c for c, r in self.config.routing.items() if model == r.primary or model in r.fallbacks)

    def spec_for(self, model: str) -> dict[str, Any]:
        """A new model's spec from its last good catalog record, with when it was seen."""
        spec = spec_from_record(self.catalog.get(model) or {})
        if model in self.seen_at:
            spec["added_at"] = self.seen_at[model]
        return ModelSpec.model_validate(spec).model_dump(mode="json")

    def created_days_ago(self, model: str) -> float | None:
        created = (self.catalog.get(model) or {}).get("created")
        if isinstance(created, bool) or not isinstance(created, (int, float)):
            return None
        return round((self.now.timestamp() - float(created)) / 86400, 1)


def spec_from_record(record: Mapping[str, Any]) -> dict[str, Any]:
    """ModelSpec fields from an OpenRouter record: its decimal prices (others dropped) and its context window."""
    pricing = record.get("pricing")
    prices = {}
    for key, value in sorted((pricing or {}).items()) if isinstance(pricing, Mapping) else ():
        if isinstance(value, (str, int, float)) and not isinstance(value, bool) and decimal(value) is not None:
            prices[str(key)] = str(value)
    spec: dict[str, Any] = {"prices": prices}
    length = record.get("context_length")
    if isinstance(length, int) and not isinstance(length, bool) and length >= 1:
        spec["context_length"] = length
    return spec


def decimal(value: Any) -> Decimal | None:
    try:
        amount = Decimal(str(value))
    except InvalidOperation:
        return None
    return amount if amount.is_finite() else None


def release(model_id: str) -> str:
    """A model's release, for grouping: ``qwen/qwen3.5-32b`` -> ``qwen/qwen3.5``, ``openai/gpt-5-mini`` ->
    ``openai/gpt-5``; a model without a version is its own family (``mistralai/codestral``)."""
    name = parse(model_id)
    if not name.version:
        return name.family_key
    provider, _, rest = model_id.partition("/")
    tokens: list[str] = []
    for token in rest.partition(":")[0].lower().split("-"):
        tokens.append(token)
        if name.version_text in token:
            break
    return f"{provider}/{'-'.join(tokens)}" if provider and rest else name.family_key


def listed(items: list[str] | tuple[str, ...], limit: int = 4) -> str:
    shown = ", ".join(items[:limit])
    return shown + (f" and {len(items) - limit} more" if len(items) > limit else "")

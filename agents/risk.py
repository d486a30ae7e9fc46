"""The risk policy: a proposed change's class (LOW, MEDIUM, HIGH) from declarative rules, matched in order.

A change is described by plain facts the planner computes itself (its kind, whether routing depends on the model,
price ratio, zero crossing, context shrink, research origin). No rule can read free text: model descriptions, paper
titles and even model ids are written by strangers, so they are not rule fields at all.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple, TypeVar

from blackboard.entries import CatalogChange, Risk

CHANGE_KINDS = ("model_added", "model_removed", "model_deprecated", "model_inactive", "repriced", "metadata",
                "context_changed", "capabilities_changed", "category_added", "routing_change", "fallback_update",
                "prompt_change", "strategy_change", "research", "sources_disagree")
RULE_FIELDS: dict[str, type] = {"kind": str, "routed": bool, "price_ratio": float, "crosses_zero": bool,
                                "context_shrink": bool, "from_research": bool}
_COMPARISONS = {"gt": ">", "ge": ">=", "lt": "<", "le": "<="}
OPERATORS = ("eq", "ne", "in", "not_in", *_COMPARISONS)
NO_MATCH_REASON = "no rule matched: a person decides"


@dataclass(frozen=True)
class ChangeFacts:
    """What the rules may look at. ``model_id`` and ``reason`` are kept for people and are never rule inputs."""

    kind: str
    model_id: str | None = None
    routed: bool = False
    price_ratio: float | None = None  # new price / old price
    crosses_zero: bool = False
    context_shrink: bool = False
    from_research: bool = False
    reason: str = ""

    def __post_init__(self) -> None:
        if self.kind not in CHANGE_KINDS:
            raise ValueError(f"unknown change kind {self.kind!r} (known: {', '.join(CHANGE_KINDS)})")
        for name in ("routed", "crosses_zero", "context_shrink", "from_research"):
            if not isinstance(getattr(self, name), bool):
                raise ValueError(f"{name} must be a bool")
        ratio = self.price_ratio
        if ratio is not None and (isinstance(ratio, bool) or not isinstance(ratio, (int, float))
                                  or not math.isfinite(ratio) or ratio < 0):
            raise ValueError(f"price_ratio must be a finite number >= 0, not {ratio!r}")


@dataclass(frozen=True)
class Condition:
    field: str
    op: str
    value: Any

    def holds(self, facts: ChangeFacts) -> bool:
        actual = getattr(facts, self.field)
        if self.op == "eq":
            return bool(actual == self.value)
        if self.op == "ne":
            return bool(actual != self.value)
        if self.op in ("in", "not_in"):
            return bool(actual in self.value) == (self.op == "in")
        if actual is None:
            return False  # an unknown ratio is neither above nor below a bound
        ratio, bound = float(actual), float(self.value)
        return {"gt": ratio > bound, "ge": ratio >= bound, "lt": ratio < bound, "le": ratio <= bound}[self.op]

    def explain(self, facts: ChangeFacts) -> str:
        actual = _show(getattr(facts, self.field))
        if self.op == "eq":
            return f"{self.field}={actual}"
        if self.op in _COMPARISONS:
            return f"{self.field}={actual} {_COMPARISONS[self.op]} {_show(self.value)}"
        return f"{self.field}={actual} {self.op.replace('_', ' ')} {_show(self.value)}"


def _show(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_show(v) for v in value) + "]"
    if isinstance(value, float):
        return f"{value:g}"
    return "none" if value is None else str(value)


@dataclass(frozen=True)
class Rule:
    when: tuple[Condition, ...]
    risk: Risk
    reason: str

    def matches(self, facts: ChangeFacts) -> bool:
        return all(condition.holds(facts) for condition in self.when)


class Classification(NamedTuple):
    risk: Risk
    reason: str
    rule_index: int | None  # None: no rule matched and the built-in default decided


def _check_value(field: str, op: str, value: Any) -> Any:
    if op in ("in", "not_in"):
        if not isinstance(value, (list, tuple)) or not value:
            raise ValueError(f"{field}: {op!r} takes a non-empty list")
        return tuple(_check_value(field, "eq", item) for item in value)
    expected = RULE_FIELDS[field]
    if op in _COMPARISONS and expected is not float:
        raise ValueError(f"{field}: {op!r} only applies to numbers")
    if expected is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ValueError(f"{field}: {value!r} is not a number")
        return float(value)
    if not isinstance(value, expected):
        raise ValueError(f"{field}: {value!r} is not a {expected.__name__}")
    if field == "kind" and value not in CHANGE_KINDS:
        raise ValueError(f"kind: unknown change kind {value!r} (known: {', '.join(CHANGE_KINDS)})")
    return value


def _conditions(when: Any) -> tuple[Condition, ...]:
    if not isinstance(when, Mapping):
        raise ValueError("'when' must be a table of field -> value or {operator: value}")
    out = []
    for field, test in when.items():
        if field not in RULE_FIELDS:
            why = " (free text and model ids never decide a risk)" if field in ("reason", "model_id") else ""
            raise ValueError(f"unknown field {field!r}{why}; rules may test {', '.join(RULE_FIELDS)}")
        tests = test if isinstance(test, Mapping) else {"eq": test}
        if not tests:
            raise ValueError(f"{field}: an empty test")
        for op, value in tests.items():
            if op not in OPERATORS:
                raise ValueError(f"{field}: unknown operator {op!r} (known: {', '.join(OPERATORS)})")
            out.append(Condition(field, op, _check_value(field, op, value)))
    return tuple(out)


def load_rules(raw: Sequence[Mapping[str, Any]]) -> tuple[Rule, ...]:
    """Rules from plain data (JSON, or an ``improve.toml`` array of tables); errors name the rule's index."""
    if isinstance(raw, (str, bytes, Mapping)) or not isinstance(raw, Sequence):
        raise ValueError("risk rules must be a list of {when, risk, reason} tables")
    rules = []
    for index, item in enumerate(raw):
        try:
            if not isinstance(item, Mapping):
                raise ValueError("a rule must be a table with when, risk and reason")
            unknown = set(item) - {"when", "risk", "reason"}
            if unknown:
                raise ValueError(f"unknown keys {', '.join(sorted(unknown))}")
            if item.get("risk") not in tuple(Risk):
                raise ValueError(f"risk must be one of LOW, MEDIUM, HIGH, not {item.get('risk')!r}")
            reason = item.get("reason")
            if not isinstance(reason, str) or not reason.strip():
                raise ValueError("a rule needs a reason")
            rules.append(Rule(_conditions(item.get("when", {})), Risk(item["risk"]), reason.strip()))
        except ValueError as exc:
            raise ValueError(f"risk rule {index}: {exc}") from None
    return tuple(rules)


_ROUTED_GOING = ["model_removed", "model_deprecated", "model_inactive"]
# More dangerous first: the first rule that matches decides.
DEFAULT_RULE_DATA: tuple[dict[str, Any], ...] = (
    {"when": {"kind": "prompt_change"}, "risk": "HIGH", "reason": "a prompt template change"},
    {"when": {"kind": "strategy_change"}, "risk": "HIGH", "reason": "a reasoning strategy change"},
    {"when": {"from_research": True}, "risk": "HIGH", "reason": "proposed from research"},
    {"when": {"kind": "research"}, "risk": "HIGH", "reason": "proposed from research"},
    {"when": {"kind": "sources_disagree"}, "risk": "MEDIUM", "reason": "the sources disagree"},
    {"when": {"kind": {"in": ["routing_change", "fallback_update"]}}, "risk": "MEDIUM",
     "reason": "a routing or fallback change"},
    {"when": {"routed": True, "crosses_zero": True}, "risk": "MEDIUM", "reason": "a routed model's price crosses zero"},
    {"when": {"routed": True, "price_ratio": {"gt": 10}}, "risk": "MEDIUM",
     "reason": "a routed model's price rises more than 10x"},
    {"when": {"routed": True, "price_ratio": {"lt": 0.1}}, "risk": "MEDIUM",
     "reason": "a routed model's price falls more than 10x"},
    {"when": {"routed": True, "context_shrink": True}, "risk": "MEDIUM",
     "reason": "a routed model's context window shrinks"},
    {"when": {"routed": True, "kind": {"in": _ROUTED_GOING}}, "risk": "MEDIUM",
     "reason": "a routed model is removed, deprecated or inactive"},
    {"when": {"routed": True, "kind": "capabilities_changed"}, "risk": "MEDIUM",
     "reason": "a routed model's capabilities changed"},
    {"when": {"routed": True, "kind": "repriced", "price_ratio": {"ge": 0.1, "le": 10}}, "risk": "LOW",
     "reason": "a routed model repriced within 10x"},
    {"when": {"routed": False, "kind": {"in": ["repriced", "model_inactive", "capabilities_changed"]}}, "risk": "LOW",
     "reason": "a price, status or capability update on an unrouted model"},
    {"when": {"kind": {"in": ["metadata", "context_changed"]}}, "risk": "LOW", "reason": "a metadata update"},
    {"when": {"kind": "model_added"}, "risk": "LOW", "reason": "a new model in the catalog (not in a routing pool)"},
    {"when": {"kind": "category_added"}, "risk": "LOW", "reason": "a new category"},
    {"when": {}, "risk": "MEDIUM", "reason": NO_MATCH_REASON},
)
DEFAULT_RULES: tuple[Rule, ...] = load_rules(DEFAULT_RULE_DATA)


def classify(facts: ChangeFacts, rules: Sequence[Rule] = DEFAULT_RULES) -> Classification:
    """The first matching rule's risk, with a reason naming the rule and the facts that matched it."""
    for index, rule in enumerate(rules):
        if rule.matches(facts):
            why = ", ".join(condition.explain(facts) for condition in rule.when)
            return Classification(rule.risk, f"rule {index}: {rule.reason}" + (f" ({why})" if why else ""), index)
    return Classification(Risk.MEDIUM, NO_MATCH_REASON, None)


_CATALOG_KINDS = {"added": "model_added", "returned": "model_added", "removed": "model_removed",
                  "purged": "model_removed", "inactive": "model_inactive", "deprecated": "model_deprecated",
                  "repriced": "repriced", "context_changed": "context_changed", "max_tokens_changed": "context_changed",
                  "modalities_changed": "capabilities_changed", "parameters_changed": "capabilities_changed",
                  "metadata_changed": "metadata"}


def facts_from_catalog_change(change: CatalogChange, routed_models: Collection[str]) -> ChangeFacts:
    """The facts of one catalog change (agents/catalog.py), given the models the live routing depends on."""
    kind = _CATALOG_KINDS.get(change.change)
    if kind is None:
        raise ValueError(f"no risk facts for catalog change {change.change!r}")
    ratio = change.details.get("ratio")
    return ChangeFacts(kind=kind, model_id=change.model_id, routed=change.model_id in routed_models,
                       price_ratio=float(ratio) if isinstance(ratio, (int, float)) else None,
                       crosses_zero=change.details.get("crosses_zero") is True,
                       context_shrink=change.details.get("shrink") is True,
                       reason=f"{change.source}: {change.change} {change.field or ''}".strip())


T = TypeVar("T")


def noise_budget(changes_sorted_by_priority: Sequence[T], max_auto: int) -> tuple[list[T], list[T]]:
    """Split LOW changes into those applied this cycle (the first ``max_auto``) and those deferred to a later one."""
    if max_auto < 0:
        raise ValueError(f"max_auto must be >= 0, not {max_auto}")
    changes = list(changes_sorted_by_priority)
    return changes[:max_auto], changes[max_auto:]


def promotion_gate(model_age_days: float | None, min_age_days: float, uptime_samples: int, min_uptime_samples: int,
                   benchmark_passed: bool | None) -> tuple[bool, list[str]]:
    """May a new model enter a routing pool? Only when old enough (by the registry's timestamp: none means not
    yet), with enough uptime history and a passing run of our own benchmark; otherwise what it still waits for."""
    waiting = []
    if model_age_days is None:
        waiting.append("a release timestamp from the registry")
    elif model_age_days < min_age_days:
        waiting.append(f"release age: {model_age_days:g} of {min_age_days:g} days")
    if uptime_samples < min_uptime_samples:
        waiting.append(f"uptime history: {uptime_samples} of {min_uptime_samples} samples")
    if benchmark_passed is None:
        waiting.append("a run of our benchmark")
    elif not benchmark_passed:
        waiting.append("a passing benchmark run (the last one failed)")
    return not waiting, waiting

"""The catalog agent's judgement: is a fetched catalog trustworthy, and what changed since the last good one."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from blackboard.entries import CatalogChange

SOURCE = "openrouter"
TRACKED_METADATA = ("name", "canonical_slug", "hugging_face_id", "knowledge_cutoff")


@dataclass(frozen=True)
class CatalogPolicy:
    min_models: int = 50  # LiteLLM's floor for a model cost map
    min_share: float = 0.5  # a catalog shrunk below half of the last good one is not trusted (LiteLLM: 0.5)
    grace_days: int = 30
    inactive_days: int = 7
    big_move: Decimal = Decimal(10)


@dataclass
class Tombstone:
    model_id: str
    removed_at: datetime
    model: dict[str, Any]
    inactive_reported: bool = False

    def to_json(self) -> dict[str, Any]:
        return {"model_id": self.model_id, "removed_at": self.removed_at.isoformat(), "model": self.model,
                "inactive_reported": self.inactive_reported}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Tombstone:
        return cls(data["model_id"], datetime.fromisoformat(data["removed_at"]), data.get("model") or {},
                   bool(data.get("inactive_reported")))


@dataclass
class Diff:
    changes: list[CatalogChange] = field(default_factory=list)
    tombstones: dict[str, Tombstone] = field(default_factory=dict)

    def ids(self, *kinds: str) -> list[str]:
        return sorted({c.model_id for c in self.changes if c.change in kinds})


def validate(models: Any, previous_count: int | None, policy: CatalogPolicy) -> list[str]:
    """Why a fetched catalog must not be trusted (empty when it may be)."""
    if not isinstance(models, list):
        return [f"the model list is a {type(models).__name__}, not a list"]
    problems = []
    bad = [i for i, m in enumerate(models) if not isinstance(m, dict) or not isinstance(m.get("id"), str)
           or not m["id"] or not isinstance(m.get("pricing", {}), dict)]
    if bad:
        problems.append(f"{len(bad)} of {len(models)} entries fail the schema (first at index {bad[0]})")
    ids = [m["id"] for m in models if isinstance(m, dict) and isinstance(m.get("id"), str)]
    if len(set(ids)) != len(ids):
        problems.append(f"{len(ids) - len(set(ids))} duplicate model ids")
    if len(models) < policy.min_models:
        problems.append(f"only {len(models)} models (at least {policy.min_models} expected)")
    if previous_count and len(models) < previous_count * policy.min_share:
        problems.append(f"{len(models)} models, shrunk below {policy.min_share:.0%} of the last good "
                        f"{previous_count}")
    return problems


def price(value: Any) -> Decimal | None:
    """A price in USD as a Decimal; None for a router's "-1" (no fixed price) or an unreadable value."""
    if value is None:
        return Decimal(0)
    try:
        amount = Decimal(str(value))
    except InvalidOperation:
        return None
    return None if amount < 0 else amount


def _get(model: dict[str, Any], path: str) -> Any:
    value: Any = model
    for part in path.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    return value


def summary(model: dict[str, Any]) -> dict[str, Any]:
    """What a report shows of a new model: its name, window, prices per million tokens and modalities."""
    pricing = model.get("pricing") or {}
    per_million = {}
    for key in ("prompt", "completion"):
        amount = price(pricing.get(key))
        per_million[key] = "router" if amount is None else f"${float(amount * 1_000_000):.4g}/M"
    modalities = "+".join(_get(model, "architecture.input_modalities") or []) + "->" + "+".join(
        _get(model, "architecture.output_modalities") or [])
    return {"name": str(model.get("name", ""))[:120], "context_length": model.get("context_length"),
            "pricing": per_million, "modalities": modalities if modalities != "->" else None,
            "hugging_face_id": model.get("hugging_face_id") or None}


class _Changes:
    def __init__(self, cycle_id: str, now: datetime) -> None:
        self.cycle_id, self.now = cycle_id, now
        self.items: list[CatalogChange] = []

    def add(self, model_id: str, change: str, field: str | None = None, old: Any = None, new: Any = None,
            **details: Any) -> None:
        details = {k: v for k, v in details.items() if v is not None} | {"fetched_at": self.now.isoformat()}
        self.items.append(CatalogChange(cycle_id=self.cycle_id, agent="catalog", created_at=self.now, source=SOURCE,
                                        model_id=model_id, change=change, field=field, old=old, new=new,
                                        details=details))


def _prices(out: _Changes, model_id: str, old: dict[str, Any], new: dict[str, Any], policy: CatalogPolicy) -> None:
    old_prices, new_prices = old.get("pricing") or {}, new.get("pricing") or {}
    for key in sorted(set(old_prices) | set(new_prices)):
        if not isinstance(old_prices.get(key, "0"), (str, int, float)) or not isinstance(
                new_prices.get(key, "0"), (str, int, float)):
            continue  # nested conditional prices (overrides) are kept in the snapshot, not diffed
        before, after = price(old_prices.get(key, "0")), price(new_prices.get(key, "0"))
        if before == after:
            continue
        if before is None or after is None:
            out.add(model_id, "repriced", f"pricing.{key}", old_prices.get(key), new_prices.get(key), router=True)
            continue
        ratio = float(after / before) if before else None
        crosses_zero = (before == 0) != (after == 0)
        big = bool(before and after and (after / before > policy.big_move or before / after > policy.big_move))
        out.add(model_id, "repriced", f"pricing.{key}", str(old_prices.get(key, "0")), str(new_prices.get(key, "0")),
                ratio=round(ratio, 4) if ratio is not None else None, crosses_zero=crosses_zero or None,
                big_move=big or None)


def _sizes(out: _Changes, model_id: str, old: dict[str, Any], new: dict[str, Any]) -> None:
    for change, path in (("context_changed", "context_length"),
                         ("max_tokens_changed", "top_provider.max_completion_tokens")):
        before, after = _get(old, path), _get(new, path)
        if before != after:
            shrink = isinstance(before, int) and (after is None or (isinstance(after, int) and after < before))
            out.add(model_id, change, path, before, after, shrink=shrink or None)


def _capabilities(out: _Changes, model_id: str, old: dict[str, Any], new: dict[str, Any]) -> None:
    for path in ("architecture.input_modalities", "architecture.output_modalities"):
        before, after = sorted(_get(old, path) or []), sorted(_get(new, path) or [])
        if before != after:
            out.add(model_id, "modalities_changed", path, before, after)
    had, has = set(old.get("supported_parameters") or []), set(new.get("supported_parameters") or [])
    if had != has:
        out.add(model_id, "parameters_changed", "supported_parameters", sorted(had), sorted(has),
                added=sorted(has - had) or None, removed=sorted(had - has) or None)
    if new.get("expiration_date") and new.get("expiration_date") != old.get("expiration_date"):
        out.add(model_id, "deprecated", "expiration_date", old.get("expiration_date"), new.get("expiration_date"))
    for key in TRACKED_METADATA:
        if old.get(key) != new.get(key):
            out.add(model_id, "metadata_changed", key, old.get(key), new.get(key))
    if old.get("description") != new.get("description"):
        out.add(model_id, "metadata_changed", "description")


def diff(previous: dict[str, dict[str, Any]] | None, current: dict[str, dict[str, Any]],
         tombstones: dict[str, Tombstone], cycle_id: str, now: datetime, policy: CatalogPolicy) -> Diff:
    """Changes from the last good catalog to this one; removals start a grace period instead of vanishing."""
    out = _Changes(cycle_id, now)
    graves = dict(tombstones)
    before = previous or {}
    for model_id in sorted(set(current) - set(before)):
        grave = graves.pop(model_id, None)
        if grave is not None:
            out.add(model_id, "returned", removed_at=grave.removed_at.isoformat(), **summary(current[model_id]))
        elif previous is not None:
            out.add(model_id, "added", **summary(current[model_id]))
    for model_id in sorted(set(before) - set(current)):
        graves[model_id] = Tombstone(model_id, now, before[model_id])
        out.add(model_id, "removed", grace_until=(now + timedelta(days=policy.grace_days)).date().isoformat(),
                name=str(before[model_id].get("name", ""))[:120])
    for model_id, grave in sorted(graves.items()):
        if model_id in current:
            continue
        missing = now - grave.removed_at
        if missing >= timedelta(days=policy.grace_days):
            out.add(model_id, "purged", removed_at=grave.removed_at.isoformat())
            del graves[model_id]
        elif missing >= timedelta(days=policy.inactive_days) and not grave.inactive_reported:
            out.add(model_id, "inactive", removed_at=grave.removed_at.isoformat(), days_missing=missing.days)
            grave.inactive_reported = True
    for model_id in sorted(set(before) & set(current)):
        old, new = before[model_id], current[model_id]
        if old == new:
            continue
        _prices(out, model_id, old, new, policy)
        _sizes(out, model_id, old, new)
        _capabilities(out, model_id, old, new)
    return Diff(out.items, graves)


def index(models: Iterable[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {model["id"]: model for model in models}

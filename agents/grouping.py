"""Catalog upkeep: catalog changes grouped into config changes, one per model release (adds, retirements) or per
model (prices, context window, a routed model's lost capabilities), plus category rankings."""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Sequence
from typing import Any

from agents.drafts import PRIORITY, Draft, Situation, decimal, listed, release
from agents.risk import ChangeFacts
from blackboard.entries import CatalogChange

ADDED = ("added", "returned")
GOING = ("removed", "purged", "inactive", "deprecated")
CAPABILITIES = ("modalities_changed", "parameters_changed")


def _evidence(changes: Sequence[CatalogChange]) -> tuple[str, ...]:
    return tuple(sorted({c.id for c in changes}))


def _one(models: list[str]) -> str | None:
    return models[0] if len(models) == 1 else None


def additions(changes: Sequence[CatalogChange], s: Situation) -> list[Draft]:
    """New and returning models, one proposal per release: absent ones added, deactivated ones reactivated."""
    groups: dict[str, list[CatalogChange]] = defaultdict(list)
    for change in changes:
        spec = s.config.models.get(change.model_id)
        if spec is None or not spec.active:
            groups[release(change.model_id)].append(change)
    drafts = []
    for label, members in sorted(groups.items()):
        models = sorted({c.model_id for c in members})
        patch = tuple({"op": "add_model", "model": m, "spec": s.spec_for(m)} if m not in s.config.models else
                      {"op": "update_model", "model": m, "set": {"active": True}, "expect": {"active": False}}
                      for m in models)
        returning = sorted({c.model_id for c in members if c.change == "returned"})
        reason = f"new on {members[0].source}: {listed(models, 8)}" + (
            f" (back after a removal: {listed(returning)})" if returning else "") + "; not routed until promoted"
        drafts.append(Draft(f"catalog-add:{label}", f"Add {len(models)} {label} model(s) to the catalog: "
                            f"{listed(models)}", "catalog", ChangeFacts(kind="model_added", model_id=_one(models),
                                                                          reason=reason),
                            patch, reason, _evidence(members), PRIORITY["add"]))
    return drafts


def retirements(changes: Sequence[CatalogChange], s: Situation) -> list[Draft]:
    """Unrouted models removed, inactive, purged or deprecated upstream: deactivated, one proposal per release."""
    groups: dict[str, list[CatalogChange]] = defaultdict(list)
    for change in changes:
        if s.active(change.model_id) and change.model_id not in s.routed:
            groups[release(change.model_id)].append(change)
    drafts = []
    for label, members in sorted(groups.items()):
        models = sorted({c.model_id for c in members})
        what = "; ".join(f"{c.model_id} {c.change}" + (f" (expires {c.new})" if c.change == "deprecated" else "")
                         for c in sorted(members, key=lambda c: c.model_id))
        reason = f"{members[0].source} reports {what}; no route uses them"
        drafts.append(Draft(f"catalog-retire:{label}", f"Deactivate {len(models)} unrouted {label} model(s): "
                            f"{listed(models)}", "catalog",
                            ChangeFacts(kind="model_inactive", model_id=_one(models), reason=reason),
                            tuple({"op": "deactivate", "model": m} for m in models), reason, _evidence(members),
                            PRIORITY["retire"]))
    return drafts


def _ratio(before: Any, after: Any) -> tuple[float | None, bool, bool]:
    """(new/old, crosses zero, a router price): None when the old price is zero or either is not fixed."""
    old, new = decimal(before if before is not None else "0"), decimal(after if after is not None else "0")
    if old is None or new is None or old < 0 or new < 0:
        return None, False, True
    crosses = (old == 0) != (new == 0)
    return (float(new / old) if old else None), crosses, False


def reprices(changes: Sequence[CatalogChange], s: Situation) -> list[Draft]:
    """One price update per model, whatever the number of price fields; the ratios are against the config's
    current prices (the catalog's old price where the config has none)."""
    by_model: dict[str, list[CatalogChange]] = defaultdict(list)
    for change in changes:
        if change.model_id in s.config.models and (change.field or "").startswith("pricing."):
            by_model[change.model_id].append(change)
    drafts = []
    for model, members in sorted(by_model.items()):
        prices = s.config.models[model].prices
        wanted: dict[str, str] = {}
        ratios: list[float] = []
        crosses, moves = False, []
        for change in sorted(members, key=lambda c: str(c.field)):
            key, new = str(change.field).removeprefix("pricing."), "0" if change.new is None else str(change.new)
            if decimal(new) is None or prices.get(key) == new:
                continue
            old = prices.get(key, change.old)
            ratio, crossing, router = _ratio(old, new)
            wanted[key], crosses = new, crosses or crossing
            ratios += [ratio] if ratio is not None and ratio > 0 else []
            moves.append(f"{key} {old} -> {new}" + (f" (x{ratio:.4g})" if ratio is not None else "")
                         + (" (crosses zero)" if crossing else "") + (" (router price)" if router else ""))
        if not wanted:
            continue
        largest = max(ratios, key=lambda r: abs(math.log(r))) if ratios else None
        routed = model in s.routed
        reason = f"{members[0].source} reprices {model}: {'; '.join(moves)}" + (
            f"; routed in {', '.join(s.routes_naming(model))}" if routed else "")
        big = routed and (crosses or (largest is not None and not 0.1 <= largest <= 10))
        drafts.append(Draft(
            f"reprice:{model}", f"Reprice {model}" + (f" (x{largest:.3g})" if largest is not None else ""), "catalog",
            ChangeFacts(kind="repriced", model_id=model, routed=routed, price_ratio=largest, crosses_zero=crosses,
                        reason=reason),
            ({"op": "update_model", "model": model, "set": {"prices": wanted},
              "expect": {"prices": {k: prices.get(k) for k in wanted}}},),
            reason, _evidence(members), PRIORITY["big_reprice" if big else "reprice"]))
    return drafts


def resizes(changes: Sequence[CatalogChange], s: Situation) -> list[Draft]:
    """Context windows: the config follows the catalog; a routed model's shrinking completion limit (no config
    field holds it) is proposed for review with nothing to apply."""
    drafts = []
    for change in changes:
        model, routed, new = change.model_id, change.model_id in s.routed, change.new
        spec = s.config.models.get(model)
        if spec is None or not (new is None or (isinstance(new, int) and not isinstance(new, bool) and new >= 1)):
            continue
        current = spec.context_length
        before = current if change.change == "context_changed" else change.old
        shrink = change.details.get("shrink") is True or (
            isinstance(before, int) and (new is None or (isinstance(new, int) and new < before)))
        where = f"; routed in {', '.join(s.routes_naming(model))}" if routed else ""
        if change.change == "context_changed":
            if current == new:
                continue
            reason = f"{change.source}: context window of {model} {current} -> {new} tokens{where}"
            patch: tuple[dict[str, Any], ...] = ({"op": "update_model", "model": model,
                                                   "set": {"context_length": new},
                                                   "expect": {"context_length": current}},)
            subject, title = f"context:{model}", f"Context window of {model}: {current} -> {new}"
        elif routed and shrink:
            reason = f"{change.source}: max completion tokens of {model} {change.old} -> {new}{where}"
            patch, subject = (), f"max-tokens:{model}"
            title = f"Review {model}: its completion limit shrank ({change.old} -> {new}); nothing to apply"
        else:
            continue
        drafts.append(Draft(subject, title, "catalog", ChangeFacts(kind="context_changed", model_id=model,
                                                                   routed=routed, context_shrink=shrink,
                                                                   reason=reason),
                            patch, reason, (change.id,), PRIORITY["review" if routed and shrink else "context"]))
    return drafts


def _lost(change: CatalogChange) -> list[str]:
    old, new = change.old if isinstance(change.old, list) else [], change.new if isinstance(change.new, list) else []
    return sorted(str(x) for x in set(map(str, old)) - set(map(str, new)))


def capability_reviews(changes: Sequence[CatalogChange], s: Situation) -> list[Draft]:
    """A routed model that lost a modality or a supported parameter: a review with nothing to apply (the config
    holds no capabilities). Gains, and changes to unrouted models, need no one."""
    by_model: dict[str, list[CatalogChange]] = defaultdict(list)
    for change in changes:
        if change.model_id in s.routed and _lost(change):
            by_model[change.model_id].append(change)
    drafts = []
    for model, members in sorted(by_model.items()):
        lost = "; ".join(f"{c.field} lost {', '.join(_lost(c))}" for c in sorted(members, key=lambda c: str(c.field)))
        reason = f"{members[0].source}: {model} {lost}; routed in {', '.join(s.routes_naming(model))}"
        drafts.append(Draft(f"capabilities:{model}", f"Review {model}: a routed model lost capabilities",
                            "catalog", ChangeFacts(kind="capabilities_changed", model_id=model, routed=True,
                                                   reason=reason),
                            (), reason, _evidence(members), PRIORITY["review"]))
    return drafts


def rankings(changes: Sequence[CatalogChange], s: Situation) -> list[Draft]:
    """The week's new top lists as at most two proposals (models the config lacks are dropped when applied): one
    updating known categories' rankings, one adding the categories the config does not know yet."""
    updates: list[tuple[str, list[str], CatalogChange]] = []
    for change in sorted(changes, key=lambda c: c.model_id):
        top = change.new
        if isinstance(top, list) and all(isinstance(m, str) for m in top):
            updates.append((change.model_id, [str(m) for m in top], change))
    drafts = []
    for new_category in (False, True):
        chosen = [u for u in updates if (u[0] not in s.config.categories) == new_category]
        if not chosen:
            continue
        names = [category for category, _, _ in chosen]
        reason = "; ".join(f"{change.details.get('ranked_by') or change.source} ranks {category}: "
                           f"{listed([m for m in top if m in s.config.models], 5) or 'none in the config'}"
                           for category, top, change in chosen)
        title = (f"Add {len(names)} categor{'y' if len(names) == 1 else 'ies'}: {listed(names, 4)}" if new_category
                 else f"Update {len(names)} category ranking{'s' if len(names) > 1 else ''}: {listed(names, 4)}")
        drafts.append(Draft("categories:new" if new_category else "rankings", title, "categories",
                            ChangeFacts(kind="category_added" if new_category else "metadata", reason=reason[:300]),
                            tuple({"op": "set_ranking", "category": category, "ranking": top}
                                  for category, top, _ in chosen),
                            reason, tuple(change.id for _, _, change in chosen), PRIORITY["ranking"]))
    return drafts


def skipped_note(changes: Sequence[CatalogChange]) -> str | None:
    """One line for the catalog changes that ask nothing of the config (held already, models it lacks, metadata,
    gains)."""
    counts = Counter(c.change for c in changes)
    if not counts:
        return None
    return (f"{sum(counts.values())} catalog change(s) need no config change (already there, models not in the "
            f"config, metadata, or nothing lost): " + ", ".join(f"{kind} {n}" for kind, n in sorted(counts.items())))

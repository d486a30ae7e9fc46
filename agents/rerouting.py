"""Routing changes: replacing routed models that go away, upgrading a routed model to its newer version (behind the
promotion gate), and promoting a better fallback over a primary that regressed critically."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from typing import Any

from agents.drafts import PRIORITY, Draft, Situation, listed
from agents.risk import ChangeFacts, promotion_gate
from blackboard.entries import CatalogChange, Regression, Severity

GOING_KINDS = {"removed": "model_removed", "purged": "model_removed", "inactive": "model_inactive",
               "deprecated": "model_deprecated"}
_SEVERITY = ("purged", "removed", "inactive", "deprecated")  # the worst first
_STILL_SERVED = frozenset({"deprecated"})  # deprecated models keep serving until they expire: re-route, keep them


def _route(primary: str, fallbacks: Sequence[str]) -> dict[str, Any]:
    return {"primary": primary, "fallbacks": list(fallbacks)}


def _current(s: Situation, category: str) -> dict[str, Any]:
    route = s.config.routing[category]
    return _route(route.primary, route.fallbacks)


def _best_elsewhere(s: Situation, category: str, exclude: set[str]) -> tuple[str, str] | None:
    """A primary for a category whose primary and fallbacks are all gone: our best scorer, else its ranking."""
    scored = sorted((-score, m) for m in s.config.models if s.active(m) and m not in exclude
                    and (score := s.score(m, category)) is not None)
    if scored:
        return scored[0][1], f"best {category} score, {-scored[0][0]:.3f}"
    spec = s.config.categories.get(category)
    ranked = [m for m in (spec.ranking if spec else ()) if s.active(m) and m not in exclude]
    return (ranked[0], f"first active model of the {category} ranking") if ranked else None


def _without(s: Situation, category: str, gone: set[str]) -> tuple[dict[str, Any] | None, str]:
    """A category's route with the gone models dropped (None: no primary left), and how its primary was chosen."""
    route = s.config.routing[category]
    fallbacks = [f for f in route.fallbacks if f not in gone]
    if route.primary not in gone:
        return _route(route.primary, fallbacks), "dropped from the fallbacks"
    promoted = next((f for f in fallbacks if s.active(f)), None)
    if promoted is not None:
        return _route(promoted, [f for f in fallbacks if f != promoted]), "its first fallback"
    found = _best_elsewhere(s, category, gone | set(fallbacks))
    return (_route(found[0], fallbacks), found[1]) if found else (None, "")


def replacements(going: Mapping[str, Sequence[CatalogChange]], s: Situation) -> list[Draft]:
    """One proposal per routed model going away, re-routing every category that names it (without any of the other
    models going away: two proposals that share a route set it alike, so either applies the other's op as a no-op)."""
    routed = {m: changes for m, changes in going.items() if m in s.routed}
    gone = set(routed)
    targets = {c: _without(s, c, gone) for c in sorted(s.config.routing)
               if gone & {s.config.routing[c].primary, *s.config.routing[c].fallbacks}}
    drafts = []
    for model, changes in sorted(routed.items()):
        worst = min(changes, key=lambda c: _SEVERITY.index(c.change))
        categories = s.routes_naming(model)
        ops: list[dict[str, Any]] = []
        moves, unfixed = [], []
        for category in categories:
            route, how = targets[category]
            if route is None:
                unfixed.append(category)
                continue
            ops.append({"op": "set_route", "category": category, "expect": _current(s, category), "route": route})
            before = s.config.routing[category].primary
            moves.append(f"{category}: {model} {how}" if before == route["primary"] else
                         f"{category}: {before} -> {route['primary']} ({how})")
        if ops and not unfixed and worst.change not in _STILL_SERVED:
            ops.append({"op": "deactivate", "model": model})
        fixed = [c for c in categories if c not in unfixed]
        if not fixed:
            title = f"{model} is {worst.change} and routed in {listed(categories)}: no replacement found: " \
                    "a person must choose"
        else:
            title = f"Replace {model} ({worst.change}) in {listed(fixed)}" + (
                f"; no replacement found for {listed(unfixed)}: a person must choose" if unfixed else "")
        details = worst.details.get("grace_until") or (worst.new if worst.change == "deprecated" else None)
        reason = f"{worst.source} reports {model} {worst.change}" + (f" (until {details})" if details else "") + (
            "; " + "; ".join(moves) if moves else "") + (f"; nothing left to route {', '.join(unfixed)} to"
                                                         if unfixed else "")
        priority = PRIORITY["removed" if worst.change in ("removed", "purged") else worst.change]
        target = f"routing.{categories[0]}" if len(categories) == 1 else "routing"
        drafts.append(Draft(f"replace:{model}", title, target,
                            ChangeFacts(kind=GOING_KINDS[worst.change], model_id=model, routed=True, reason=reason),
                            tuple(ops), reason, tuple(sorted({c.id for c in changes})), priority))
    return drafts


def _benchmark_waits(s: Situation, old: str, new: str, categories: Sequence[str]) -> tuple[list[str], list[str]]:
    """Per category the newer model takes over: what it still waits for, and the scores that were compared."""
    waits, seen = [], []
    for category in categories:
        key = category if s.score(new, category) is not None else "overall"
        score, baseline = s.score(new, key), s.score(old, key)
        if score is None:
            waits.append(f"our benchmark of {category}")
        elif baseline is not None and score < baseline - s.gate.margin:
            waits.append(f"a benchmark of {category} within {s.gate.margin:g} of {old} ({score:.3f} against "
                         f"{baseline:.3f} on {key})")
        else:
            seen.append(f"{key} {score:.3f}" + (f" against {baseline:.3f}" if baseline is not None else ""))
    return waits, seen


def upgrades(candidates: Sequence[CatalogChange], s: Situation, going: set[str]) -> tuple[list[Draft], list[str]]:
    """One proposal per (routed, newer) pair covering every route of the routed model; the promotion gate's unmet
    checks are what it waits for."""
    drafts, notes = [], []
    for change in candidates:
        old, new = change.old, change.new
        if not isinstance(old, str) or not isinstance(new, str) or old == new:
            continue
        categories = s.routes_naming(old)
        problem = (f"{old} is no longer routed" if not categories else f"{new} is going away" if new in going
                   else f"{new} is inactive in the config" if new in s.config.models and not s.active(new) else None)
        if problem:
            notes.append(f"upgrade {old} -> {new} not proposed: {problem}")
            continue
        ops: list[dict[str, Any]] = []
        if new not in s.config.models:
            ops.append({"op": "add_model", "model": new, "spec": s.spec_for(new)})
        for category in categories:
            names = [new if m == old else m for m in (s.config.routing[category].primary,
                                                      *s.config.routing[category].fallbacks)]
            names = list(dict.fromkeys(names))
            ops.append({"op": "set_route", "category": category, "expect": _current(s, category),
                        "route": _route(names[0], names[1:])})
        age = s.created_days_ago(new)
        samples = s.gate.uptime_samples.get(new, 0)
        _, waiting = promotion_gate(age, s.gate.min_age_days, samples, s.gate.min_uptime_samples, True)
        benchmark_waits, compared = _benchmark_waits(s, old, new, categories)
        reason = (f"{new} is a newer version of {old}, routed in {', '.join(categories)}; released "
                  + (f"{age:g} days ago" if age is not None else "at an unknown time")
                  + f", {samples} uptime sample(s)" + (f", our benchmark: {'; '.join(compared)}" if compared else ""))
        drafts.append(Draft(f"upgrade:{old}->{new}", f"Upgrade {listed(categories)} from {old} to {new}",
                            f"routing.{categories[0]}" if len(categories) == 1 else "routing",
                            ChangeFacts(kind="routing_change", model_id=new, routed=True, reason=reason),
                            tuple(ops), reason, (change.id,), PRIORITY["upgrade"],
                            tuple(waiting + benchmark_waits)))
    return drafts, notes


def regression_swaps(regressions: Sequence[Regression], s: Situation, going: set[str]) -> tuple[list[Draft],
                                                                                                  list[str]]:
    """A primary that regressed critically (pre-cycle score) makes way for its best fallback, if one scores higher;
    the regressed model becomes a fallback in its place."""
    hits: dict[str, list[Regression]] = defaultdict(list)
    for r in regressions:
        if r.severity != Severity.CRITICAL or r.phase != "pre" or r.metric != "score":
            continue
        for category, route in s.config.routing.items():
            if route.primary == r.model and r.category in (category, "overall"):
                hits[category].append(r)
    drafts, notes = [], []
    for category, found in sorted(hits.items()):
        route = s.config.routing[category]
        primary = route.primary
        own = s.score(primary, category) is not None or any(r.category == category for r in found)
        key = category if own else "overall"
        baseline = s.score(primary, key)
        if baseline is None:  # the regression's own measurement
            baseline = next((r.current for r in found if r.category == key and r.current is not None), None)
        if baseline is None:
            notes.append(f"critical regression of {primary} on {category}: no score to compare fallbacks with")
            continue
        better = [(score, -i, f) for i, f in enumerate(route.fallbacks) if s.active(f) and f not in going
                  and (score := s.score(f, key)) is not None and score > baseline]
        if not better:
            notes.append(f"critical regression of {primary} on {category}: no fallback scores above its "
                         f"{baseline:.3f} on {key}, so no swap is proposed")
            continue
        score, _, best = max(better)
        drops = "; ".join(f"{r.category} dropped {r.drop:.3f}" + (f" (p={r.p_value:.2g})" if r.p_value is not None
                                                                  else "") for r in found)
        reason = f"{primary} regressed critically: {drops}; {best} scores {score:.3f} against {baseline:.3f} on {key}"
        fallbacks = [primary if f == best else f for f in route.fallbacks]
        drafts.append(Draft(f"route:{category}", f"Route {category} to {best} ({primary} regressed critically)",
                            f"routing.{category}", ChangeFacts(kind="routing_change", model_id=best, routed=True,
                                                              reason=reason),
                            ({"op": "set_route", "category": category, "expect": _current(s, category),
                              "route": _route(best, fallbacks)},),
                            reason, tuple(sorted({r.id for r in found})), PRIORITY["regression"]))
    return drafts, notes

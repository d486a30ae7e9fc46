"""The live configuration as the rest of the system sees it: seeded once, read for routed models, exported."""

from __future__ import annotations

import json
import logging
from collections import defaultdict
from datetime import timedelta
from pathlib import Path
from typing import Any

from agents.drafts import spec_from_record
from blackboard.entries import Applied, Measurement, Proposal, ProposalStatus
from blackboard.live_config import ConfigStore, ConfigVersion, LiveConfig, ModelSpec, Route
from blackboard.snapshots import SnapshotBook
from workers.runtime import Runtime

logger = logging.getLogger(__name__)
SOURCE = "openrouter"
SCORE_WINDOW = timedelta(days=28)


def store_of(runtime: Runtime) -> ConfigStore:
    return ConfigStore(runtime.connections.board, runtime.keys, runtime.clock)


def _spec(record: dict[str, Any] | None) -> ModelSpec:
    return ModelSpec.model_validate(spec_from_record(record or {}))


def seed_config(runtime: Runtime) -> LiveConfig:
    """The first configuration: IMPROVE_CONFIG_SEED if given, else the last good catalog plus IMPROVE_ROUTING."""
    settings = runtime.settings
    if settings.config_seed is not None:
        try:
            return LiveConfig.model_validate(json.loads(Path(settings.config_seed).read_text(encoding="utf-8")))
        except (OSError, ValueError) as exc:
            raise RuntimeError(f"IMPROVE_CONFIG_SEED {settings.config_seed}: not a usable configuration: {exc}") \
                from exc
    snapshot = SnapshotBook(runtime.connections.board, runtime.keys).load(SOURCE)
    catalog = snapshot.models if snapshot else {}
    models = {model_id: _spec(record) for model_id, record in catalog.items()}
    routing: dict[str, Route] = {}
    for category, chain in settings.routing.items():
        chain = list(dict.fromkeys(m for m in chain if m))
        if not chain:
            continue
        for model_id in chain:
            models.setdefault(model_id, _spec(catalog.get(model_id)))
        routing[category] = Route(primary=chain[0], fallbacks=tuple(chain[1:]))
    return LiveConfig(models=models, routing=routing)


def current_config(runtime: Runtime, seed: bool = True) -> ConfigVersion | None:
    """The current version; the first call seeds version 1 (unless ``seed`` is false, as in a dry run)."""
    store = store_of(runtime)
    current = store.current()
    if current is None and seed:
        current = store.seed(seed_config(runtime), by="planner", reason="initial configuration (catalog and "
                                                                             "IMPROVE_ROUTING)")
        logger.info("seeded the live configuration: version %d", current.version)
    return current


def routed_now(runtime: Runtime) -> list[str]:
    """Models the product routes to: the live routing table, and until it exists IMPROVE_ROUTING and
    IMPROVE_ROUTED_MODELS."""
    found: list[str] = []
    current = store_of(runtime).current()
    if current is not None:
        for route in current.config.routing.values():
            found += [route.primary, *route.fallbacks]
    else:
        for chain in runtime.settings.routing.values():
            found += chain
    found += runtime.settings.routed_models
    return list(dict.fromkeys(m for m in found if m))


def proposal_entry(runtime: Runtime, proposal_id: str) -> Proposal | None:
    """The latest Proposal entry the planner posted for a proposal (what gets applied)."""
    entry_id = runtime.connections.board.hget(runtime.keys.planner_entries(), proposal_id)
    entry = runtime.board.get(str(entry_id)) if entry_id else None
    return entry if isinstance(entry, Proposal) else None


def candidates(runtime: Runtime) -> list[str]:
    """Models pending routing proposals would bring in: benchmarked and watched before they may be promoted."""
    found: list[str] = []
    for state in runtime.proposals.with_status(ProposalStatus.PENDING) + runtime.proposals.with_status(
            ProposalStatus.APPROVED):
        entry = proposal_entry(runtime, state.proposal_id)
        models = entry.change.get("models") if entry else None
        found += [str(m) for m in models] if isinstance(models, list) else []
    return list(dict.fromkeys(found))


def scores(runtime: Runtime) -> dict[str, dict[str, float]]:
    """Our benchmark: each model's latest valid score per category (and overall) over the last four weeks."""
    now = runtime.clock.now()
    latest: dict[tuple[str, str], Measurement] = {}
    for m in runtime.board.read_window("measurement", now - SCORE_WINDOW, now + timedelta(seconds=1)):
        if not isinstance(m, Measurement) or m.metric != "score" or m.details.get("valid") is False:
            continue
        if m.details.get("phase") == "verify":
            continue
        seen = latest.get((m.model, m.category))
        if seen is None or m.created_at > seen.created_at:
            latest[(m.model, m.category)] = m
    found: dict[str, dict[str, float]] = defaultdict(dict)
    for (model, category), m in latest.items():
        found[model][category] = m.value
    return dict(found)


def export_current(runtime: Runtime) -> Path | None:
    """Write the current version where the orchestrator reads it (atomically); None before the first version."""
    store = store_of(runtime)
    if store.current() is None:
        return None
    return store.export(None, runtime.settings.export_path)


def upgrade_results(runtime: Runtime, version: ConfigVersion) -> list[dict[str, Any]]:
    """For a version that routed a category to another model: the replaced model's pre-change score and the new
    one's verification score on that category, from the cycle that applied it."""
    if not version.proposal_id:
        return []
    proposal = proposal_entry(runtime, version.proposal_id)
    checks = proposal.change.get("verify") if proposal else None
    if not isinstance(checks, list) or not checks:
        return []
    around = (version.created_at - timedelta(days=1), version.created_at + timedelta(days=1))
    applied = [a for a in runtime.board.read_window("applied", *around)
               if isinstance(a, Applied) and a.proposal_id == version.proposal_id
               and a.config_version == version.version]
    measured = runtime.board.read_cycle(applied[0].cycle_id, kinds=["measurement"]) if applied else []

    def score(model: str, category: str, phase: str) -> float | None:
        found = [m.value for m in measured if isinstance(m, Measurement) and m.metric == "score" and
                 m.model == model and m.category == category and m.details.get("phase") == phase]
        return found[-1] if found else None

    return [{"category": str(c.get("category")), "before": str(c.get("before") or ""), "after": str(c.get("after")),
             "before_score": score(str(c.get("before")), str(c.get("category")), "pre"),
             "after_score": score(str(c.get("after")), str(c.get("category")), "verify")}
            for c in checks if isinstance(c, dict)]

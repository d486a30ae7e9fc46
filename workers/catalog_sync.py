"""Catalog sync: fetch OpenRouter, check it, diff it against the last good snapshot, post the changes."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from agents.catalog import SOURCE, CatalogPolicy, Tombstone, diff, index, validate
from agents.categories import openrouter_facts, ranking_from_measurements
from agents.families import upgrade_candidates
from agents.scoring import Facts, Weights, score
from agents.sources.http import Fetcher, SourceFailure
from agents.sources.huggingface import HuggingFace, probe
from agents.sources.openrouter import OpenRouter
from blackboard.entries import CatalogChange, Measurement, SourceError
from blackboard.snapshots import Snapshot, SnapshotBook
from workers.configuration import candidates, routed_now
from workers.runtime import Runtime

logger = logging.getLogger(__name__)
HUB = "huggingface"
SCORES = "scores"
RANKINGS = "rankings"
HEALTH_DROP = 5.0  # uptime points (last day) that make a routed model's health worth a change entry


@dataclass
class SyncOutcome:
    added: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    repriced: list[str] = field(default_factory=list)
    rejected: bool = False
    errors: list[str] = field(default_factory=list)
    changes: int = 0
    models: int = 0
    quick: bool = False

    def to_json(self) -> dict[str, Any]:
        return {"added": self.added, "removed": self.removed, "repriced": self.repriced, "rejected": self.rejected,
                "errors": self.errors, "changes": self.changes, "models": self.models, "quick": self.quick}


def _open_source(runtime: Runtime) -> tuple[OpenRouter, httpx.Client]:
    settings = runtime.settings
    headers = {"User-Agent": "improve-catalog-agent"}
    if settings.openrouter_api_key is not None:
        headers["Authorization"] = f"Bearer {settings.openrouter_api_key.get_secret_value()}"
    client = httpx.Client(timeout=settings.http_timeout, headers=headers, follow_redirects=True)
    fetcher = Fetcher("openrouter", client, attempts=settings.http_attempts, max_wait=settings.http_max_wait,
                      max_bytes=settings.http_max_bytes, secrets=settings.secrets())
    return OpenRouter(fetcher, settings.openrouter_base_url), client


def _error(runtime: Runtime, cycle_id: str, step: str, failure: SourceFailure) -> SourceError:
    return SourceError(cycle_id=cycle_id, agent="catalog", created_at=runtime.clock.now(), step=step,
                       source=failure.source, error_type=failure.error_type, message=failure.message,
                       status_code=failure.status_code, url=failure.url)


def weights_of(runtime: Runtime) -> Weights:
    return Weights(**runtime.settings.score_weights)


def policy_of(runtime: Runtime) -> CatalogPolicy:
    s = runtime.settings
    return CatalogPolicy(min_models=s.catalog_min_models, min_share=s.catalog_min_share,
                         grace_days=s.catalog_grace_days, inactive_days=s.catalog_inactive_days)


def snapshots(runtime: Runtime, cycle_id: str, preview: bool = False) -> SnapshotBook:
    """The snapshot book a sync writes to: the last good snapshots, or for a dry run (``preview``) the run's own,
    which leave the last good ones to the week's real cycle."""
    return SnapshotBook(runtime.connections.board, runtime.keys, cycle_id if preview else None)


def full_sync(runtime: Runtime, cycle_id: str, step: str = "catalog_sync", preview: bool = False) -> SyncOutcome:
    """The weekly sync. A failed fetch or an untrustworthy catalog keeps the last good snapshot and says why."""
    book = snapshots(runtime, cycle_id, preview)
    previous = book.load(SOURCE)
    outcome = SyncOutcome(models=previous.count if previous else 0)
    source, client = _open_source(runtime)
    try:
        raw = source.models()
    except SourceFailure as failure:
        if previous is not None:
            age = (runtime.clock.now() - previous.fetched_at).days
            failure.message += (f" (using the last good catalog of {previous.fetched_at:%Y-%m-%d}, {age} days old, "
                                f"{previous.count} models)")
        runtime.board.post(_error(runtime, cycle_id, step, failure))
        outcome.errors.append(str(failure))
        return outcome
    finally:
        client.close()
    problems = validate(raw, previous.count if previous else None, policy_of(runtime))
    if problems:
        reason = "catalog rejected, last good snapshot kept: " + "; ".join(problems)
        rejection = SourceFailure(SOURCE, "integrity", reason)
        runtime.board.post(_error(runtime, cycle_id, step, rejection))
        outcome.rejected, outcome.errors = True, [str(rejection)]
        return outcome
    current = index(raw)
    graves = {key: Tombstone.from_json(value) for key, value in book.tombstones(SOURCE).items()}
    now = runtime.clock.now()
    found = diff(previous.models if previous else None, current, graves, cycle_id, now, policy_of(runtime))
    found.changes += [CatalogChange(cycle_id=cycle_id, agent="catalog", created_at=now, source=SOURCE, model_id=routed,
                                    change="upgrade_candidate", field="version", old=routed, new=newer)
                      for routed, newer in upgrade_candidates(routed_now(runtime), current)]
    posted = runtime.board.post_many(found.changes)  # first the facts, then the snapshot: a retry re-posts, deduped
    book.save(Snapshot(SOURCE, current, now, cycle_id), {k: v.to_json() for k, v in found.tombstones.items()})
    outcome.added, outcome.removed, outcome.repriced = found.ids("added", "returned"), found.ids("removed"), found.ids(
        "repriced")
    outcome.changes, outcome.models = sum(p.created for p in posted), len(current)
    return outcome


def _health(endpoints: dict[str, Any]) -> dict[str, Any]:
    items = [e for e in endpoints.get("endpoints") or [] if isinstance(e, dict)]
    uptimes = [float(e["uptime_last_1d"]) for e in items if isinstance(e.get("uptime_last_1d"), (int, float))]
    latencies = [float(e["latency_last_30m"]["p50"]) for e in items
                 if isinstance(e.get("latency_last_30m"), dict) and isinstance(e["latency_last_30m"].get("p50"),
                                                                            (int, float))]
    return {"endpoints": len(items), "uptime_last_1d": round(max(uptimes), 2) if uptimes else None,
            "latency_p50": round(min(latencies), 3) if latencies else None,
            "statuses": sorted({str(e.get("status")) for e in items if e.get("status") is not None})}


def _without_count(health: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in health.items() if key != "samples"}


def quick_sync(runtime: Runtime, cycle_id: str, step: str = "catalog_sync", preview: bool = False) -> SyncOutcome:
    """Every 6 hours: the health of the models the routing uses, from their OpenRouter endpoints."""
    book = snapshots(runtime, cycle_id, preview)
    watched = list(dict.fromkeys([*routed_now(runtime), *candidates(runtime)]))
    outcome = SyncOutcome(quick=True, models=len(watched))
    known, changes, seen = book.health(SOURCE), [], {}
    source, client = _open_source(runtime)
    now = runtime.clock.now()
    try:
        for model_id in watched:
            try:
                health = _health(source.endpoints(model_id))
            except SourceFailure as failure:
                if failure.status_code != 404:
                    runtime.board.post(_error(runtime, cycle_id, step, failure))
                    outcome.errors.append(str(failure))
                    continue
                health = {"endpoints": 0, "uptime_last_1d": None, "latency_p50": None, "statuses": []}
            before = known.get(model_id)
            health["samples"] = int((before or {}).get("samples") or 0) + 1  # uptime history, for promotion
            seen[model_id] = health
            if before is None:
                continue
            uptime_before, uptime_now = before.get("uptime_last_1d"), health["uptime_last_1d"]
            dropped = uptime_before is not None and (uptime_now is None or uptime_before - uptime_now >= HEALTH_DROP)
            if before.get("endpoints") != health["endpoints"] or dropped:
                changes.append(CatalogChange(cycle_id=cycle_id, agent="catalog", created_at=now, source=SOURCE,
                                             model_id=model_id, change="health_changed", field="endpoints",
                                             old=_without_count(before), new=_without_count(health),
                                             details={"degraded": dropped or None}))
    finally:
        client.close()
    outcome.changes = sum(p.created for p in runtime.board.post_many(changes))
    book.save_health(SOURCE, seen)
    return outcome


def absorb(known: dict[str, dict[str, Any]], task: str, found: list[dict[str, Any]], first_sync: bool,
           cycle_id: str, now: datetime) -> list[CatalogChange]:
    """Fold one task's listing into the registry (``known``); after the first sync, newcomers are discovered."""
    changes = []
    for model in found:
        model["tasks"] = sorted({*known.get(model["id"], {}).get("tasks", []), task})
        if not first_sync and model["id"] not in known:
            changes.append(CatalogChange(
                cycle_id=cycle_id, agent="catalog", created_at=now, source=HUB, model_id=model["id"],
                change="discovered", details={"task": task, "downloads": model["downloads"], "likes": model["likes"],
                                              "license": model["license"], "parameters": model["parameters"]}))
        known[model["id"]] = model
    return changes


def hub_sync(runtime: Runtime, cycle_id: str, step: str = "catalog_sync", preview: bool = False) -> SyncOutcome:
    """Weekly discovery on the Hugging Face Hub: the top models per task; newcomers are posted as discovered.

    A task whose listing fails or comes back empty keeps its last good entries and posts a source error.
    """
    settings = runtime.settings
    book = snapshots(runtime, cycle_id, preview)
    previous = book.load(HUB)
    known = dict(previous.models) if previous else {}
    hub = HuggingFace(settings.hf_endpoint, settings.hf_token.get_secret_value() if settings.hf_token else None,
                      attempts=settings.http_attempts, max_wait=settings.http_max_wait)
    outcome, now, changes = SyncOutcome(models=len(known)), runtime.clock.now(), []
    try:  # one cheap probe first: the library's own retries would take minutes on a Hub that is down
        probe(settings.hf_endpoint, settings.http_timeout, settings.secrets())
    except SourceFailure as failure:
        runtime.board.post(_error(runtime, cycle_id, step, failure))
        outcome.errors.append(f"{failure} (last good listing kept)")
        return outcome
    for task in settings.hf_tasks:
        try:
            found = hub.top(task, settings.hf_per_task, settings.hf_min_downloads)
        except SourceFailure as failure:
            runtime.board.post(_error(runtime, cycle_id, step, failure))
            outcome.errors.append(str(failure))
            continue
        if not found:
            empty = SourceFailure(HUB, "empty", f"{task}: no model above {settings.hf_min_downloads} downloads")
            runtime.board.post(_error(runtime, cycle_id, step, empty))
            outcome.errors.append(str(empty))
            continue
        changes += absorb(known, task, found, previous is None, cycle_id, now)
    posted = runtime.board.post_many(changes)
    book.save(Snapshot(HUB, known, now, cycle_id), {})
    outcome.added, outcome.changes, outcome.models = sorted(c.model_id for c in changes), sum(
        p.created for p in posted), len(known)
    return outcome


def rank_and_score(runtime: Runtime, cycle_id: str, step: str = "catalog_sync", preview: bool = False) -> SyncOutcome:
    """Score every OpenRouter model (joined with the Hub), rank each category, and check for drift."""
    settings = runtime.settings
    book = snapshots(runtime, cycle_id, preview)
    catalog, hub = book.load(SOURCE), book.load(HUB)
    outcome, now = SyncOutcome(), runtime.clock.now()
    if catalog is None:
        return outcome
    hub_models = hub.models if hub else {}
    scores = {}
    for model_id, model in catalog.models.items():
        joined = openrouter_facts(model, hub_models.get(str(model.get("hugging_face_id") or "")))
        created = joined.pop("created")
        facts = Facts(model_id, inference=True, **joined,
                      created=datetime.fromtimestamp(created, UTC) if isinstance(created, (int, float)) else None)
        scores[model_id] = score(facts, now, weights_of(runtime)).to_json()
    book.save(Snapshot(SCORES, scores, now, cycle_id), {})
    previous = book.load(RANKINGS)
    measured = ranking_from_measurements(
        m for m in runtime.board.read_window("measurement", now - timedelta(days=28), now + timedelta(seconds=1))
        if isinstance(m, Measurement))
    rankings: dict[str, dict[str, Any]] = {}
    source, client = _open_source(runtime)
    try:
        for category, openrouter_category in settings.categories.items():
            if openrouter_category:
                try:
                    top = [m["id"] for m in source.models({"category": openrouter_category, "sort": "top-weekly"})
                           if isinstance(m, dict) and "id" in m][:10]
                    rankings[category] = {"top": top, "source": f"openrouter:{openrouter_category}"}
                except SourceFailure as failure:
                    runtime.board.post(_error(runtime, cycle_id, step, failure))
                    outcome.errors.append(str(failure))
                    if failure.error_type in ("connection", "timeout", "rate_limited"):
                        break  # the upstream is down: one error, the last rankings stay
            elif category in measured:
                rankings[category] = {"top": measured[category], "source": "our benchmark"}
    finally:
        client.close()
    changes = []
    for category, ranking in sorted(rankings.items()):
        before = (previous.models.get(category) or {}).get("top") if previous else None
        if before is not None and before != ranking["top"]:
            changes.append(CatalogChange(cycle_id=cycle_id, agent="catalog", created_at=now, source=SOURCE,
                                         model_id=category, change="ranking_changed", field="top10", old=before,
                                         new=ranking["top"], details={"ranked_by": ranking["source"]}))
    unranked = sorted(set(settings.categories) - set(rankings))
    if unranked:
        changes.append(CatalogChange(cycle_id=cycle_id, agent="catalog", created_at=now, source=SOURCE,
                                     model_id="catalog", change="drift", field="unranked_categories", new=unranked))
    for model_id in routed_now(runtime):
        if model_id not in catalog.models:
            changes.append(CatalogChange(cycle_id=cycle_id, agent="catalog", created_at=now, source=SOURCE,
                                         model_id=model_id, change="drift", field="routed_missing"))
    book.save(Snapshot(RANKINGS, {**(previous.models if previous else {}), **rankings}, now, cycle_id), {})
    outcome.changes = sum(p.created for p in runtime.board.post_many(changes))
    outcome.models = len(scores)
    return outcome

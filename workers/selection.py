"""`improve select`: the live Hub, else a fresh cache, else a smaller size class, else shipped defaults."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import timedelta
from importlib import resources
from typing import Any

from agents.selection import Candidate, budget_mb, rank, size_class, size_mb, smaller
from agents.sources.http import SourceFailure
from agents.sources.huggingface import HuggingFace, probe
from blackboard.snapshots import SnapshotBook
from workers.catalog_sync import HUB, weights_of
from workers.runtime import Runtime


@dataclass
class Selection:
    task: str
    answered_by: str
    candidates: list[Candidate]
    notes: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {"task": self.task, "answered_by": self.answered_by,
                "candidates": [c.to_json() for c in self.candidates], "notes": self.notes}


def _live(runtime: Runtime, task: str, notes: list[str]) -> list[dict[str, Any]] | None:
    settings = runtime.settings
    try:
        probe(settings.hf_endpoint, settings.http_timeout, settings.secrets())
        hub = HuggingFace(settings.hf_endpoint, settings.hf_token.get_secret_value() if settings.hf_token else None,
                          attempts=settings.http_attempts, max_wait=settings.http_max_wait)
        models = hub.top(task, max(50, settings.hf_per_task), settings.hf_min_downloads)
    except SourceFailure as failure:
        notes.append(f"live Hub unavailable: {failure.error_type}")
        return None
    return [{**model, "tasks": [task]} for model in models]


def _cached(runtime: Runtime, notes: list[str]) -> list[dict[str, Any]] | None:
    snapshot = SnapshotBook(runtime.connections.board, runtime.keys).load(HUB)
    if snapshot is None:
        notes.append("no cached registry")
        return None
    age = runtime.clock.now() - snapshot.fetched_at
    if age > timedelta(days=runtime.settings.registry_max_age_days):
        notes.append(f"cached registry too old ({age.days} days)")
        return None
    return list(snapshot.models.values())


def default_models() -> dict[str, dict[str, Any]]:
    text = resources.files("agents").joinpath("data/default_models.json").read_text()
    data: dict[str, dict[str, Any]] = json.loads(text)
    return data


def select(runtime: Runtime, task: str, hardware: str | None = None, max_size_mb: float | None = None,
           framework: str | None = None) -> Selection:
    notes: list[str] = []
    now = runtime.clock.now()
    top = size_class(budget_mb(hardware, max_size_mb)) if budget_mb(hardware, max_size_mb) else "large"
    for source, models in (("live", _live(runtime, task, notes)), ("cache", None)):
        if source == "cache":
            models = _cached(runtime, notes)
        if not models:
            continue
        label: str | None = top
        while label is not None:
            found = rank(models, task, now, hardware, max_size_mb, framework, only_class=label,
                         weights=weights_of(runtime))
            good = [c for c in found if c.score >= runtime.settings.min_score]
            if found and not good:
                notes.append(f"{source}: no {label} model reaches the minimum score "
                             f"{runtime.settings.min_score:g}; showing the best anyway")
            found = good or found
            if found:
                how = source if label == top else f"{source}, smaller size class ({top} -> {label})"
                return Selection(task, how, found[:10], notes)
            notes.append(f"{source}: no {label} model for {task}")
            label = smaller(label)
        if source == "live":
            break  # the live Hub answered: nothing fits, and an older cache would not know better
    default = default_models().get(task)
    if default is None:
        return Selection(task, "none", [], [*notes, f"no shipped default for {task}"])
    mb, how = size_mb(default)
    reasons = ["a shipped default: the Hub and the cache could not answer", f"~{mb:,.0f} MB {how}" if mb else how]
    return Selection(task, "defaults", [Candidate(default["id"], 0.0, mb, size_class(mb), reasons)], notes)

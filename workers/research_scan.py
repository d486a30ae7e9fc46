"""The research scan: arXiv, feeds and Hub releases, merged, deduplicated across weeks, ranked, posted."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx

from agents.papers import Item, merge
from agents.ranking import impact, rank
from agents.sources import arxiv as arxiv_source
from agents.sources import feeds as feed_source
from agents.sources.http import SourceFailure
from agents.sources.huggingface import probe, releases
from blackboard.entries import Finding, Proposal, Risk, SourceError
from reports.research import render_summary, write_summary
from workers.runtime import Runtime

logger = logging.getLogger(__name__)
FIRST_WINDOW_DAYS = 7
TOPIC_TARGETS = {"reasoning": "reasoning", "multi-agent orchestration": "orchestration",
                 "retrieval-augmented generation": "factual", "evaluation": "evaluation",
                 "routing and inference cost": "routing"}


@dataclass
class ScanOutcome:
    new: int = 0
    updated: int = 0
    duplicates_merged: int = 0
    proposals: int = 0
    errors: list[str] = field(default_factory=list)
    sources: dict[str, str] = field(default_factory=dict)  # source -> "ok: N items", "not modified", "failed: ..."
    findings: list[Finding] = field(default_factory=list)
    raised: list[Proposal] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {"new": self.new, "updated": self.updated, "duplicates_merged": self.duplicates_merged,
                "proposals": self.proposals, "errors": self.errors, "sources": self.sources}


def _failed(runtime: Runtime, outcome: ScanOutcome, cycle_id: str, step: str, failure: SourceFailure) -> None:
    runtime.board.post(SourceError(cycle_id=cycle_id, agent="research", created_at=runtime.clock.now(), step=step,
                                   source=failure.source, error_type=failure.error_type, message=failure.message,
                                   status_code=failure.status_code, url=failure.url))
    outcome.errors.append(str(failure))
    outcome.sources[failure.source] = f"failed: {failure.error_type}"


def _arxiv(runtime: Runtime, outcome: ScanOutcome, cycle_id: str, step: str, since: datetime | None) -> list[Item]:
    settings, client = runtime.settings, runtime.connections.board
    key, now = runtime.keys.research_watermark("arxiv"), runtime.clock.now()
    stored = client.get(key)
    start, until = arxiv_source.window(datetime.fromisoformat(str(stored)) if stored else None, now,
                                       settings.arxiv_overlap_days, FIRST_WINDOW_DAYS)
    try:
        items = arxiv_source.fetch(settings.arxiv_api_url, settings.research_arxiv_categories, since or start, until,
                                   settings.arxiv_max_results, settings.http_timeout, settings.http_attempts,
                                   settings.http_max_wait, settings.arxiv_delay)
    except SourceFailure as failure:
        _failed(runtime, outcome, cycle_id, step, failure)
        return []
    client.set(key, until.isoformat())
    outcome.sources["arxiv"] = f"ok: {len(items)} papers" if items else "ok: nothing new (a quiet window)"
    return items


def _feeds(runtime: Runtime, outcome: ScanOutcome, cycle_id: str, step: str) -> list[Item]:
    settings, state_key = runtime.settings, runtime.keys.research_feed_state()
    items: list[Item] = []
    with httpx.Client(timeout=settings.http_timeout, follow_redirects=True,
                      headers={"User-Agent": "improve-research-agent"}) as client:
        for url in settings.research_feeds:
            name = urlsplit(url).netloc.removeprefix("www.") or url
            state = json.loads(str(runtime.connections.board.hget(state_key, url) or "{}"))
            try:
                result = feed_source.fetch(client, url, name, state.get("etag"), state.get("last_modified"))
            except SourceFailure as failure:
                _failed(runtime, outcome, cycle_id, step, failure)
                continue
            if result.malformed:
                _failed(runtime, outcome, cycle_id, step, SourceFailure(f"feed:{name}", "malformed",
                                                                       f"partly read: {result.malformed}", 200, url))
            status = "not modified" if result.not_modified else f"ok: {len(result.items)} items"
            outcome.sources[f"feed:{name}"] = status
            runtime.connections.board.hset(state_key, url, json.dumps(
                {"etag": result.etag, "last_modified": result.last_modified}))
            items += result.items
    return items


def _releases(runtime: Runtime, outcome: ScanOutcome, cycle_id: str, step: str) -> list[Item]:
    settings = runtime.settings
    if not settings.research_hf_authors:
        return []
    try:
        probe(settings.hf_endpoint, settings.http_timeout, settings.secrets())
        found = releases(settings.hf_endpoint, settings.hf_token.get_secret_value() if settings.hf_token else None,
                         settings.research_hf_authors, 20)
    except SourceFailure as failure:
        _failed(runtime, outcome, cycle_id, step, failure)
        return []
    outcome.sources["huggingface"] = f"ok: {len(found)} releases"
    return found


def scan(runtime: Runtime, cycle_id: str, step: str = "research_scan", since: datetime | None = None) -> ScanOutcome:
    outcome = ScanOutcome()
    gathered = _arxiv(runtime, outcome, cycle_id, step, since) + _feeds(runtime, outcome, cycle_id, step) + \
        _releases(runtime, outcome, cycle_id, step)
    items, outcome.duplicates_merged = merge(gathered)
    seen_key = runtime.keys.research_seen()
    seen: dict[str, str] = runtime.connections.board.hgetall(seen_key)  # type: ignore[assignment]
    fresh: list[tuple[Item, bool]] = []
    for item in items:
        before = seen.get("|".join(item.identity))
        if before is None:
            fresh.append((item, False))
        elif item.version is not None and int(before or 0) < item.version:
            fresh.append((item, True))
        else:
            outcome.duplicates_merged += 1  # seen in an earlier week: never shown twice
    ranked = rank([f"{item.title}. {item.summary}" for item, _ in fresh], runtime.settings.research_topics)
    relevant = [r for r in ranked if r.topic][: runtime.settings.research_max_findings]
    now = runtime.clock.now()
    for position, entry in enumerate(relevant):
        item, updated = fresh[entry.index]
        source, source_id = item.identity
        finding = Finding(
            cycle_id=cycle_id, agent="research", created_at=now, source=source, source_id=source_id,
            version=item.version, title=item.title[:500], summary=item.summary[:4000],
            url=item.link if item.link.startswith(("https://", "http://")) else None,
            published_at=datetime.fromisoformat(item.published) if item.published else None,
            score=round(entry.score, 3), authors=item.authors[:20], links=(item.link,),
            also_from=tuple(item.also_from), tags=item.tags[:20], topics=entry.topics, matched=entry.matched,
            impact=impact(1 - position / max(1, len(ranked)), item.source, 1 + len(item.also_from),
                          0.5 if updated else 1.0))
        outcome.findings.append(finding)
        outcome.updated += updated
        outcome.new += not updated
        if finding.impact == "high" and entry.topic:
            target = TOPIC_TARGETS.get(entry.topic, entry.topic)
            outcome.raised.append(Proposal(
                cycle_id=cycle_id, agent="research", created_at=now, proposal_id=f"research-{source}-{source_id}",
                title=f"Evaluate for {target}: {finding.title[:120]}", risk=Risk.HIGH,
                risk_reason="proposed from research: a prompt or strategy change, never applied automatically",
                target=f"strategies.{target}", change={"technique": finding.title[:200], "topic": entry.topic},
                reason=f"ranked {position + 1} for {entry.topic} on {', '.join(entry.matched[entry.topic][:6])}",
                evidence=(finding.id,)))
    runtime.board.post_many([*outcome.findings, *outcome.raised])
    if fresh:
        runtime.connections.board.hset(seen_key, mapping={"|".join(item.identity): item.version or 0
                                                          for item, _ in fresh})
    outcome.proposals = len(outcome.raised)
    return outcome


def scan_and_summarise(runtime: Runtime, cycle_id: str, step: str, date: str,
                       since: datetime | None = None) -> tuple[ScanOutcome, Path]:
    """A scan, then its weekly summary at ``RESEARCH_DIR/findings/<date>.md``."""
    outcome = scan(runtime, cycle_id, step, since)
    text = render_summary(date, outcome.findings, outcome.raised, outcome.sources)
    return outcome, write_summary(runtime.settings.research_dir, date, text)

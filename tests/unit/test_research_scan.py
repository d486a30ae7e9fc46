"""The research scan against a local arXiv, feed and Hub: dedup across sources, versions and weeks."""

from __future__ import annotations

from urllib.parse import urlsplit

from blackboard.entries import Finding, Proposal, SourceError
from workers.research_fake import FakeResearch
from workers.research_scan import scan
from workers.runtime import Runtime
from workers.sandbox import Response


def feed(runtime: Runtime) -> str:
    return "feed:" + urlsplit(runtime.settings.research_feeds[0]).netloc


def posted(runtime: Runtime, cycle_id: str, kind: type) -> list:  # type: ignore[type-arg]
    return [e for e in runtime.board.read_cycle(cycle_id) if isinstance(e, kind)]


def test_first_scan_merges_sources_ranks_and_proposes(fake_runtime: Runtime, world: FakeResearch) -> None:
    outcome = scan(fake_runtime, "2026-W45")
    assert outcome.errors == [] and outcome.new == 5 and outcome.duplicates_merged == 2
    assert set(outcome.sources) == {"arxiv", feed(fake_runtime), "huggingface"}
    findings = {f.title: f for f in posted(fake_runtime, "2026-W45", Finding)}
    cot = findings["Adaptive Self-Consistency for Chain-of-Thought Reasoning"]
    assert (cot.source, cot.source_id, cot.version) == ("arxiv", "2611.00001", 1)
    assert cot.also_from == (feed(fake_runtime), "huggingface")  # the post and the release cite it
    assert "chain-of-thought" in cot.matched["reasoning"] and cot.authors == ("A. Researcher", "B. Scientist")
    assert not any("Graphene" in title or "Bird" in title for title in findings)
    proposals = posted(fake_runtime, "2026-W45", Proposal)
    assert proposals and all(p.risk == "HIGH" and p.evidence[0] in {f.id for f in findings.values()}
                             for p in proposals)
    query = next(r for r in world.requests if r.path == "/api/query").query["search_query"][0]
    assert "cat:cs.CL" in query and "submittedDate:[" in query


def test_a_second_scan_posts_nothing_new(fake_runtime: Runtime, world: FakeResearch) -> None:
    scan(fake_runtime, "2026-W45")
    before = fake_runtime.board.count("finding")
    again = scan(fake_runtime, "2026-W45")
    assert again.new == 0 and again.updated == 0 and fake_runtime.board.count("finding") == before
    assert again.sources[feed(fake_runtime)] == "not modified"  # the ETag was sent back and honoured


def test_weeks_move_on_and_a_new_version_is_an_update(fake_runtime: Runtime, world: FakeResearch) -> None:
    scan(fake_runtime, "2026-W45")
    world.next_week()
    scan(fake_runtime, "2026-W46")
    world.next_week()
    third = scan(fake_runtime, "2026-W47")
    updated = [f for f in posted(fake_runtime, "2026-W47", Finding) if f.version == 2]
    assert third.updated == 1 and updated[0].source_id == "2612.00001" and "(revised)" in updated[0].title
    watermark = fake_runtime.connections.board.get(fake_runtime.keys.research_watermark("arxiv"))
    assert watermark is not None


def test_failures_are_recorded_and_the_rest_goes_on(fake_runtime: Runtime, world: FakeResearch) -> None:
    world.faults += [Response(400, b"<feed/>")] * 2  # arXiv answers 400 (a malformed query), also when retried
    fake_runtime.settings.research_feeds.append("http://127.0.0.1:9/feed.xml")
    outcome = scan(fake_runtime, "2026-W47")
    errors = posted(fake_runtime, "2026-W47", SourceError)
    assert {(e.source, e.error_type) for e in errors} >= {("arxiv", "http_400"), ("feed:127.0.0.1:9", "connection")}
    assert outcome.sources[feed(fake_runtime)].startswith("ok") and outcome.new >= 1  # the post still counts
    assert fake_runtime.connections.board.get(fake_runtime.keys.research_watermark("arxiv")) is None


def test_the_summary_keeps_hostile_titles_inert() -> None:
    from datetime import UTC, datetime

    from reports.research import render_summary

    finding = Finding(cycle_id="c", agent="research", created_at=datetime(2026, 11, 22, tzinfo=UTC), source="arxiv",
                      source_id="2611.00001", version=1, title="@everyone <script>x</script> [a](javascript:x) | b",
                      url="javascript:alert(1)", score=3.0, topics={"reasoning": 3.0},
                      matched={"reasoning": ["chain-of-thought"]}, impact="high")
    text = render_summary("2026-11-22", [finding], [], {"arxiv": "ok: 1 papers"})
    assert "<script>" not in text and "@everyone" not in text and "(<javascript" not in text
    assert "Why: chain-of-thought" in text

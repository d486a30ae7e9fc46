"""Scores for every model, category rankings (OpenRouter's where it has them, ours elsewhere) and drift checks."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from blackboard.entries import CatalogChange, Measurement
from blackboard.snapshots import SnapshotBook
from workers.catalog_sync import RANKINGS, SCORES, full_sync, hub_sync, rank_and_score
from workers.hf_fake import FakeHub
from workers.openrouter_fake import FakeOpenRouter
from workers.runtime import Runtime
from workers.sandbox import LoopbackServer


@pytest.fixture
def upstreams(fake_runtime: Runtime) -> Iterator[tuple[FakeOpenRouter, FakeHub]]:
    router, hub = FakeOpenRouter(), FakeHub(per_task=5)
    with LoopbackServer({}, router.handle) as r, LoopbackServer({}, hub.handle) as h:
        settings = fake_runtime.settings
        settings.openrouter_base_url, settings.hf_endpoint = f"{r.url}/api/v1", h.url
        settings.hf_tasks = ["text-generation"]
        settings.categories = {"coding": "programming", "translation": "translation", "math": None,
                               "summarization": None}
        yield router, hub


def changes(runtime: Runtime, cycle_id: str) -> list[CatalogChange]:
    return [e for e in runtime.board.read_cycle(cycle_id) if isinstance(e, CatalogChange)]


def test_scores_rankings_and_drift(fake_runtime: Runtime, upstreams: tuple[FakeOpenRouter, FakeHub]) -> None:
    router, _ = upstreams
    fake_runtime.settings.routed_models = ["openai/gpt-5-mini", "cohere/command-r-08-2024"]
    full_sync(fake_runtime, "2026-W45")
    hub_sync(fake_runtime, "2026-W45")
    fake_runtime.board.post(Measurement(cycle_id="2026-W45", agent="benchmark", created_at=fake_runtime.clock.now(),
                                        run_id="r1", model="qwen/qwen3-8b", category="math", metric="score",
                                        value=0.7))
    first = rank_and_score(fake_runtime, "2026-W45")
    book = SnapshotBook(fake_runtime.connections.board, fake_runtime.keys)
    scores, rankings = book.load(SCORES), book.load(RANKINGS)
    assert scores is not None and rankings is not None and first.models == scores.count == 54
    scored = scores.models["openai/gpt-5-mini"]
    assert set(scored["breakdown"]) == {"popularity", "performance", "recency", "compatibility"}
    assert scored["breakdown"]["performance"] == "unknown" and 0 < scored["score"] <= 100
    assert rankings.models["coding"]["source"] == "openrouter:programming"
    assert len(rankings.models["coding"]["top"]) == 10
    assert rankings.models["math"] == {"top": ["qwen/qwen3-8b"], "source": "our benchmark"}
    drift = [c for c in changes(fake_runtime, "2026-W45") if c.change == "drift"]
    assert [(c.field, c.new) for c in drift] == [("unranked_categories", ["summarization"])]

    router.next_week()
    router.next_week()
    full_sync(fake_runtime, "2026-W47")
    rank_and_score(fake_runtime, "2026-W47")
    found = {(c.model_id, c.change, c.field): c for c in changes(fake_runtime, "2026-W47")}
    moved = found[("coding", "ranking_changed", "top10")]
    assert moved.new[0] == "qwen/qwen3.5-32b-instruct" and moved.details == {"ranked_by": "openrouter:programming"}  # type: ignore[index]
    assert ("cohere/command-r-08-2024", "drift", "routed_missing") in found
    posted = fake_runtime.board.count("catalog_change")
    again = rank_and_score(fake_runtime, "2026-W47")  # unchanged rankings say nothing, and nothing twice
    assert again.changes == 0 and fake_runtime.board.count("catalog_change") == posted


def test_nothing_to_rank_before_the_first_catalog(fake_runtime: Runtime) -> None:
    assert rank_and_score(fake_runtime, "2026-W47").models == 0
    assert fake_runtime.board.count("catalog_change") == 0

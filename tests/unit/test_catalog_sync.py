"""Catalog sync end to end on fakeredis, against a local OpenRouter whose catalog moves week by week."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from agents.catalog import SOURCE
from blackboard.entries import CatalogChange, SourceError
from blackboard.snapshots import SnapshotBook
from tests.conftest import NO_UPSTREAM
from workers.catalog_sync import full_sync, quick_sync
from workers.openrouter_fake import FakeOpenRouter, catalog
from workers.runtime import Runtime
from workers.sandbox import LoopbackServer


@pytest.fixture
def openrouter(fake_runtime: Runtime) -> Iterator[FakeOpenRouter]:
    fake = FakeOpenRouter()
    with LoopbackServer({}, fake.handle) as server:
        fake_runtime.settings.openrouter_base_url = f"{server.url}/api/v1"
        yield fake


def entries(runtime: Runtime, cycle_id: str, kind: type) -> list:  # type: ignore[type-arg]
    return [e for e in runtime.board.read_cycle(cycle_id) if isinstance(e, kind)]


def test_three_weeks_baseline_rejection_and_changes(fake_runtime: Runtime, openrouter: FakeOpenRouter) -> None:
    book = SnapshotBook(fake_runtime.connections.board, fake_runtime.keys)
    first = full_sync(fake_runtime, "2026-W45")
    assert first.models == len(catalog(1)) and first.changes == 0 and not first.rejected
    assert openrouter.requests[0].query == {"output_modalities": ["all"]}

    openrouter.next_week()
    second = full_sync(fake_runtime, "2026-W46")
    assert second.rejected and "shrunk below 50%" in second.errors[0]
    errors = entries(fake_runtime, "2026-W46", SourceError)
    assert [e.error_type for e in errors] == ["integrity"]
    snapshot = book.load(SOURCE)
    assert snapshot is not None and snapshot.count == len(catalog(1)) and snapshot.cycle_id == "2026-W45"
    assert entries(fake_runtime, "2026-W46", CatalogChange) == []  # nothing marked removed

    openrouter.next_week()
    fake_runtime.settings.routed_models = ["google/gemma-3-27b-it"]
    third = full_sync(fake_runtime, "2026-W47")
    assert third.added == ["google/gemma-4-31b-it", "qwen/qwen3.5-32b-instruct", "qwen/qwen3.5-7b-instruct"]
    assert third.removed == ["cohere/command-r-08-2024", "microsoft/phi-4-multimodal-instruct"]
    assert third.repriced == ["deepseek/deepseek-chat-v3.1", "openai/gpt-4.1-nano", "openai/gpt-oss-20b"]
    found = {(c.model_id, c.change): c for c in entries(fake_runtime, "2026-W47", CatalogChange)}
    assert found[("openai/gpt-4.1-nano", "repriced")].details["big_move"] is True
    assert found[("openai/gpt-oss-20b", "repriced")].details["crosses_zero"] is True
    shrink = found[("mistralai/mistral-large-2411", "context_changed")]
    assert shrink.details == {"shrink": True, "fetched_at": fake_runtime.clock.now().isoformat()}
    assert found[("anthropic/claude-haiku-4.5", "deprecated")].new == "2027-01-31"
    assert set(book.tombstones(SOURCE)) == set(third.removed)
    upgrade = found[("google/gemma-3-27b-it", "upgrade_candidate")]
    assert (upgrade.old, upgrade.new) == ("google/gemma-3-27b-it", "google/gemma-4-31b-it")

    posted = fake_runtime.board.count("catalog_change")
    again = full_sync(fake_runtime, "2026-W47")  # a retried step: nothing new, nothing twice
    assert again.changes == 0 and fake_runtime.board.count("catalog_change") == posted


def test_an_unreachable_upstream_keeps_the_last_good_catalog(fake_runtime: Runtime,
                                                              openrouter: FakeOpenRouter) -> None:
    full_sync(fake_runtime, "2026-W46")
    fake_runtime.settings.openrouter_base_url = NO_UPSTREAM
    outcome = full_sync(fake_runtime, "2026-W47")
    assert outcome.errors and not outcome.rejected and outcome.models == len(catalog(1))
    errors = entries(fake_runtime, "2026-W47", SourceError)
    assert [e.error_type for e in errors] == ["connection"]
    assert "using the last good catalog of 2026-11-22, 0 days old, 54 models" in errors[0].message
    snapshot = SnapshotBook(fake_runtime.connections.board, fake_runtime.keys).load(SOURCE)
    assert snapshot is not None and snapshot.cycle_id == "2026-W46"


def test_quick_sync_watches_routed_models_health(fake_runtime: Runtime, openrouter: FakeOpenRouter) -> None:
    fake_runtime.settings.routed_models = ["openai/gpt-5-mini", "cohere/command-r-08-2024", "qwen/qwen3-8b"]
    assert quick_sync(fake_runtime, "quick-2026-11-22T00").changes == 0  # the first look is a baseline
    openrouter.next_week()
    openrouter.next_week()
    outcome = quick_sync(fake_runtime, "quick-2026-11-22T06")
    changed = {c.model_id: c for c in entries(fake_runtime, "quick-2026-11-22T06", CatalogChange)}
    assert outcome.changes == 2 and set(changed) == {"openai/gpt-5-mini", "cohere/command-r-08-2024"}
    assert changed["openai/gpt-5-mini"].details == {"degraded": True}
    assert changed["cohere/command-r-08-2024"].new == {"endpoints": 0, "uptime_last_1d": None, "latency_p50": None,
                                                       "statuses": []}

"""Hugging Face Hub discovery through huggingface_hub, against a local Hub."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from blackboard.entries import CatalogChange, SourceError
from blackboard.snapshots import SnapshotBook
from workers.catalog_sync import HUB, hub_sync
from workers.hf_fake import FakeHub
from workers.runtime import Runtime
from workers.sandbox import LoopbackServer, Response

TASKS = ["text-generation", "code", "translation"]


@pytest.fixture
def hub(fake_runtime: Runtime) -> Iterator[FakeHub]:
    fake = FakeHub(per_task=12)
    with LoopbackServer({}, fake.handle) as server:
        fake_runtime.settings.hf_endpoint = server.url
        fake_runtime.settings.hf_tasks = TASKS
        fake_runtime.settings.hf_per_task = 10
        yield fake


def test_discovery_baseline_then_newcomers(fake_runtime: Runtime, hub: FakeHub) -> None:
    first = hub_sync(fake_runtime, "2026-W46")
    assert first.errors == [] and first.changes == 0 and first.models == 30
    listing = [r for r in hub.requests if r.path == "/api/models" and r.query.get("sort")]
    assert {r.query["pipeline_tag"][0] for r in listing} == {"text-generation", "translation"}
    assert any(r.query.get("filter") == ["code"] for r in listing)
    assert all("license" not in r.query and "downloads" in r.query["expand"] for r in listing)
    snapshot = SnapshotBook(fake_runtime.connections.board, fake_runtime.keys).load(HUB)
    assert snapshot is not None
    model = snapshot.models["meta-llama/text-model-0-0.5b"]
    assert (model["license"], model["parameters"], model["gated"], model["tasks"]) == (
        "apache-2.0", 500_000_000, False, ["text-generation"])
    hub.next_week()
    second = hub_sync(fake_runtime, "2026-W47")
    discovered = [e for e in fake_runtime.board.read_cycle("2026-W47") if isinstance(e, CatalogChange)]
    assert second.changes == 3 and {c.change for c in discovered} == {"discovered"}
    assert {c.details["task"] for c in discovered} == set(TASKS)


def test_a_hub_that_is_down_keeps_the_last_listing(fake_runtime: Runtime, hub: FakeHub) -> None:
    hub_sync(fake_runtime, "2026-W46")
    fake_runtime.settings.hf_endpoint = "http://127.0.0.1:9"
    outcome = hub_sync(fake_runtime, "2026-W47")
    assert outcome.models == 30 and len(outcome.errors) == 1 and "last good listing kept" in outcome.errors[0]
    errors = [e for e in fake_runtime.board.read_cycle("2026-W47") if isinstance(e, SourceError)]
    assert [(e.source, e.error_type) for e in errors] == [("huggingface", "connection")]


def test_an_empty_task_is_a_source_error(fake_runtime: Runtime, hub: FakeHub) -> None:
    fake_runtime.settings.hf_min_downloads = 10**9
    outcome = hub_sync(fake_runtime, "2026-W47")
    assert len(outcome.errors) == 3 and all("no model above" in e for e in outcome.errors)


def test_a_transient_server_error_is_retried(fake_runtime: Runtime, hub: FakeHub) -> None:
    original = hub.handle
    failures = iter([Response.json({"error": "busy"}, 503)])

    def flaky(request):  # type: ignore[no-untyped-def]
        if request.query.get("sort"):
            failure = next(failures, None)
            if failure is not None:
                return failure
        return original(request)

    hub.handle = flaky  # type: ignore[method-assign]
    with LoopbackServer({}, flaky) as server:
        fake_runtime.settings.hf_endpoint = server.url
        outcome = hub_sync(fake_runtime, "2026-W47")
    assert outcome.errors == [] and outcome.models == 30

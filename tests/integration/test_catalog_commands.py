"""The catalog commands as a user runs them: improve sync, catalog list|show, versions, select, route."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from workers.connection import Connections
from workers.hf_fake import FakeHub
from workers.openrouter_fake import FakeOpenRouter
from workers.sandbox import LoopbackServer

from .conftest import Cluster, last_json

pytestmark = pytest.mark.integration


@pytest.fixture
def world(real_redis: Connections, redis_url: str, tmp_path: Path) -> Iterator[tuple[Cluster, FakeOpenRouter]]:
    router, hub = FakeOpenRouter(), FakeHub(per_task=8)
    with LoopbackServer({}, router.handle) as r, LoopbackServer({}, hub.handle) as h:
        cluster = Cluster(redis_url, tmp_path)
        cluster.env_overrides.update({"OPENROUTER_BASE_URL": f"{r.url}/api/v1", "HF_ENDPOINT": h.url,
                                      "IMPROVE_HF_TASKS": json.dumps(["text-generation"])})
        yield cluster, router


def test_sync_then_look_around(world: tuple[Cluster, FakeOpenRouter]) -> None:
    cluster, router = world
    first = last_json(cluster.improve("sync", "--json").stdout)
    assert first["models"] == 54 and first["added"] == [] and first["rejected"] is False
    router.next_week()
    rejected = cluster.improve("sync", "--json")
    assert rejected.returncode == 0 and last_json(rejected.stdout)["rejected"] is True
    router.next_week()
    third = last_json(cluster.improve("sync", "--json", IMPROVE_NOW="2026-11-29T03:00:00Z").stdout)
    assert set(third) >= {"added", "removed", "repriced", "rejected", "errors"}
    assert len(third["added"]) == 3 and len(third["removed"]) == 2 and third["cycle_id"] == "2026-W48"
    listing = last_json(cluster.improve("catalog", "list", "--search", "gemma", "--json").stdout)
    assert [m["id"] for m in listing["models"]] == ["google/gemma-3-12b-it", "google/gemma-3-27b-it",
                                                    "google/gemma-3-4b-it", "google/gemma-4-31b-it"]
    removed = last_json(cluster.improve("catalog", "show", "cohere/command-r-08-2024", "--json").stdout)
    assert removed["status"] == "removed" and removed["removed_at"].startswith("2026-11-29")
    missing = cluster.improve("catalog", "show", "nobody/nothing")
    assert missing.returncode == 2 and "no model" in missing.stderr
    history = last_json(cluster.improve("versions", "google/gemma", "--json").stdout)
    assert [v["version"] for v in history["versions"]] == ["3", "3", "3", "4"]


def test_select_and_route(world: tuple[Cluster, FakeOpenRouter]) -> None:
    cluster, _ = world
    chosen = last_json(cluster.improve("select", "--task", "text-generation", "--hardware", "cpu-medium",
                                       "--json").stdout)
    assert chosen["answered_by"].startswith("live") and chosen["candidates"]
    assert all(c["size_mb"] <= 6000 for c in chosen["candidates"]) and chosen["candidates"][0]["reasons"]
    routing = json.dumps({"coding": ["anthropic/claude-sonnet-4.5", "openai/gpt-5"]})
    routed = last_json(cluster.improve("route", "fix this Python function", "--json", IMPROVE_ROUTING=routing).stdout)
    assert (routed["category"], routed["primary"], routed["fallbacks"]) == (
        "coding", "anthropic/claude-sonnet-4.5", ["openai/gpt-5"])

"""Selection: sizes, limits, frameworks, ranking; and the chain live Hub -> cache -> smaller class -> defaults."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from agents.selection import frameworks, rank, size_class, size_mb
from tests.conftest import NO_HUB
from workers.catalog_sync import hub_sync
from workers.hf_fake import FakeHub
from workers.runtime import Runtime
from workers.sandbox import LoopbackServer
from workers.selection import default_models, select

NOW = datetime(2026, 11, 22, tzinfo=UTC)


def model(model_id: str, parameters: int | None = None, **extra: object) -> dict[str, object]:
    return {"id": model_id, "parameters": parameters, "tasks": ["text-generation"], "downloads": 100_000,
            "likes": 100, "created_at": (NOW - timedelta(days=60)).isoformat(), "license": "apache-2.0",
            "tags": ["transformers", "pytorch"], **extra}


@pytest.mark.parametrize(("item", "mb", "how"), [
    (model("a/x", parameters=7_000_000_000), 14_000, "parameter count"),
    (model("a/llama-3-8b-instruct"), 16_000, "name (8b)"),
    (model("a/tiny-350m"), 700, "name (350m)"),
    (model("a/mystery"), None, "unknown"),
])
def test_sizes(item: dict[str, object], mb: float | None, how: str) -> None:
    size, explanation = size_mb(item)
    assert size == mb and how in explanation


def test_size_classes_and_frameworks() -> None:
    assert [size_class(x) for x in (100, 1_000, 5_000, 50_000, None)] == ["tiny", "small", "base", "large", "unknown"]
    assert frameworks({"tags": ["tf", "jax"], "library": "transformers"}) == {"tensorflow", "jax", "pytorch"}


def test_rank_respects_hardware_framework_and_explains() -> None:
    models = [model("big/70b", parameters=70_000_000_000), model("mid/7b", parameters=7_000_000_000),
              model("small/1b", parameters=1_000_000_000, downloads=5_000_000, likes=5_000),
              model("jaxonly/1b", parameters=1_000_000_000, tags=["jax"]),
              model("other-task/1b", parameters=1_000_000_000, tasks=["translation"])]
    on_cpu = rank(models, "text-generation", NOW, hardware="cpu-medium")
    assert [c.model_id for c in on_cpu] == ["small/1b", "jaxonly/1b"]
    assert on_cpu[0].reasons[1] == "small model, ~2,000 MB from the parameter count"
    assert [c.model_id for c in rank(models, "text-generation", NOW, framework="jax")] == ["jaxonly/1b"]
    assert [c.model_id for c in rank(models, "text-generation", NOW, max_size_mb=20_000, only_class="base")] == []


@pytest.fixture
def hub(fake_runtime: Runtime) -> Iterator[FakeHub]:
    fake = FakeHub(per_task=12)
    with LoopbackServer({}, fake.handle) as server:
        fake_runtime.settings.hf_endpoint = server.url
        fake_runtime.settings.hf_tasks = ["text-generation"]
        yield fake


def test_the_live_hub_answers_first(fake_runtime: Runtime, hub: FakeHub) -> None:
    chosen = select(fake_runtime, "text-generation", hardware="gpu-large")
    assert chosen.answered_by == "live" and chosen.candidates
    assert all(c.size_class == "large" for c in chosen.candidates)


def test_a_smaller_size_class_when_nothing_fits_the_largest(fake_runtime: Runtime, hub: FakeHub) -> None:
    chosen = select(fake_runtime, "text-generation", hardware="gpu-small")  # 12 GB: no "large" model fits
    assert chosen.answered_by == "live, smaller size class (large -> base)"
    assert {c.size_class for c in chosen.candidates} == {"base"} and "live: no large model" in chosen.notes[0]


def test_the_cache_when_the_hub_is_down_then_defaults(fake_runtime: Runtime, hub: FakeHub) -> None:
    hub_sync(fake_runtime, "2026-W47")
    fake_runtime.settings.hf_endpoint = NO_HUB
    cached = select(fake_runtime, "text-generation", hardware="gpu-small")
    assert cached.answered_by.startswith("cache") and "live Hub unavailable: connection" in cached.notes
    fake_runtime.settings.registry_max_age_days = 0
    fake_runtime.clock.pinned = NOW + timedelta(days=3)
    fallback = select(fake_runtime, "text-generation", hardware="cpu-small")
    assert fallback.answered_by == "defaults"
    assert fallback.candidates[0].model_id == default_models()["text-generation"]["id"]
    assert any("too old" in note for note in fallback.notes)
    assert select(fake_runtime, "no-such-task").answered_by == "none"


def test_the_minimum_score_is_applied_and_said(fake_runtime: Runtime, hub: FakeHub) -> None:
    fake_runtime.settings.min_score = 99.0
    chosen = select(fake_runtime, "text-generation", hardware="gpu-large")
    assert chosen.candidates and any("reaches the minimum score 99" in note for note in chosen.notes)
    fake_runtime.settings.min_score = 0.0
    assert not any("minimum" in note for note in select(fake_runtime, "text-generation").notes)

"""The versioned live config on fakeredis (the shared checks also run on a real Redis in
tests/integration/test_live_config_redis.py)."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import redis
from pydantic import ValidationError

from blackboard.clock import Clock
from blackboard.errors import TransitionConflict, UnknownRecord
from blackboard.keys import Keys
from blackboard.live_config import (
    ConfigChange,
    ConfigDecodeError,
    ConfigStore,
    LiveConfig,
    StaleConfigVersion,
    diff,
    write_config_file,
)

NOW = datetime(2026, 11, 22, 3, 0, tzinfo=UTC)
GPT, CODER, CLAUDE = "openai/gpt-4.1", "qwen/qwen3-coder", "anthropic/claude-sonnet-4"


def config_data(**overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "models": {
            GPT: {"context_length": 1_047_576, "prices": {"prompt": "0.000002", "completion": "0.000008"}},
            CODER: {"context_length": 262_144, "prices": {"prompt": "0.0000002"}, "added_at": "2026-08-01T00:00:00Z"},
            CLAUDE: {"context_length": 200_000, "prices": {"prompt": "0.000003"}},
        },
        "categories": {"coding": {"ranking": [CODER, CLAUDE, GPT]}, "math": {"ranking": [GPT]}},
        "routing": {"coding": {"primary": CODER, "fallbacks": [CLAUDE, GPT]}, "math": {"primary": GPT}},
        "prompts": {"coding": "You are a careful programmer.\n{task}"},
        "strategies": {"math": {"name": "self_consistency", "params": {"samples": 5}}},
    }
    data.update(overrides)
    return data


def sample(**overrides: Any) -> LiveConfig:
    return LiveConfig.model_validate(config_data(**overrides))


def rerouted(primary: str = CLAUDE) -> LiveConfig:
    fallbacks = [m for m in (CODER, CLAUDE, GPT) if m != primary]
    return sample(routing={"coding": {"primary": primary, "fallbacks": fallbacks}, "math": {"primary": GPT}})


@pytest.fixture
def store(fake_board_client: redis.Redis, keys: Keys) -> ConfigStore:
    return ConfigStore(fake_board_client, keys, Clock(NOW))


def check_seed_commit_and_stale(store: ConfigStore) -> None:
    assert store.current() is None and store.history() == []
    first = store.seed(sample(), "setup")
    assert (first.version, first.parent, first.by, first.created_at) == (1, None, "setup", NOW)
    assert store.seed(rerouted(), "someone else") == first  # only when none exists
    second = store.commit(rerouted(), expected_version=1, by="upgrade", reason="coding to Claude",
                          proposal_id="p-1", evidence=["regression-abc"])
    assert (second.version, second.parent, second.proposal_id, second.evidence) == (2, 1, "p-1", ("regression-abc",))
    assert ConfigChange(path="routing.coding.primary", old=CODER, new=CLAUDE) in second.diff
    assert store.current() == second and store.get(1) == first and store.get(3) is None
    for stale in (1, None, 7, 0):
        with pytest.raises(StaleConfigVersion, match="at version 2") as caught:
            store.commit(rerouted(GPT), expected_version=stale, by="late", reason="lost the race")
        assert isinstance(caught.value, TransitionConflict) and caught.value.current == 2
    assert store.current() == second


def check_identical_commit_is_a_noop(store: ConfigStore) -> None:
    first = store.seed(sample(), "setup")
    assert store.commit(sample(), expected_version=1, by="retry", reason="again") == first
    second = store.commit(rerouted(), expected_version=1, by="upgrade", reason="change")
    assert store.commit(rerouted(), expected_version=1, by="retry", reason="retried job") == second  # stale but done
    assert [v.version for v in store.history()] == [2, 1]


def check_rollback_is_a_new_version(store: ConfigStore) -> None:
    store.seed(sample(), "setup")
    store.commit(rerouted(), expected_version=1, by="upgrade", reason="coding to Claude")
    back = store.rollback(1, by="verify", reason="coding regressed", proposal_id="p-1")
    assert (back.version, back.parent, back.proposal_id) == (3, 2, "p-1")
    assert back.config == sample() and back.reason == "rollback from v2 to v1: coding regressed"
    assert ConfigChange(path="routing.coding.primary", old=CLAUDE, new=CODER) in back.diff
    assert store.rollback(1, by="verify", reason="again") == back  # already there: nothing new
    with pytest.raises(StaleConfigVersion):
        store.rollback(2, by="verify", reason="late", expected_version=2)
    with pytest.raises(UnknownRecord):
        store.rollback(9, by="verify", reason="no such version")
    assert store.diff_versions(1, 3) == [] and store.diff_versions(2, 3) == list(back.diff)


def check_history_newest_first(store: ConfigStore) -> None:
    store.seed(sample(), "setup")
    for number in range(2, 36):
        store.commit(sample(prompts={"coding": f"prompt {number}"}), expected_version=number - 1, by="t", reason="r")
    assert [v.version for v in store.history()] == list(range(35, 5, -1))
    assert [v.version for v in store.history(limit=3)] == [35, 34, 33]
    assert store.history(limit=0) == []
    assert store.get(1) is not None and store.get(1).config == sample()  # type: ignore[union-attr]


def test_seed_commit_and_stale(store: ConfigStore) -> None:
    check_seed_commit_and_stale(store)


def test_identical_commit_is_a_noop(store: ConfigStore) -> None:
    check_identical_commit_is_a_noop(store)


def test_rollback_is_a_new_version(store: ConfigStore) -> None:
    check_rollback_is_a_new_version(store)


def test_history_newest_first(store: ConfigStore) -> None:
    check_history_newest_first(store)


def test_diff_paths() -> None:
    old = sample()
    new = LiveConfig.model_validate(config_data(
        models={**config_data()["models"], GPT: {"active": False, "context_length": 1_047_576},
                "mistral/devstral": {}},
        routing={"coding": {"primary": CODER, "fallbacks": [CLAUDE]}, "math": {"primary": CLAUDE}},
        prompts={}, strategies={"math": {"name": "self_consistency", "params": {"samples": 9}}}))
    paths = {change.path: (change.old, change.new) for change in diff(old, new)}
    assert paths == {
        'models["openai/gpt-4.1"].active': (True, False),
        'models["openai/gpt-4.1"].prices.prompt': ("0.000002", None),
        'models["openai/gpt-4.1"].prices.completion': ("0.000008", None),
        "models.mistral/devstral": (None, {"active": True, "context_length": None, "prices": {}, "added_at": None}),
        "routing.coding.fallbacks": ([CLAUDE, GPT], [CLAUDE]),
        "routing.math.primary": (GPT, CLAUDE),
        "prompts.coding": ("You are a careful programmer.\n{task}", None),
        "strategies.math.params.samples": (5, 9),
    }
    assert diff(new, new) == []
    assert {c.path.split(".")[0].split("[")[0] for c in diff(None, old)} == {"models", "categories", "routing",
                                                                           "prompts", "strategies"}


def test_export_is_complete_json(store: ConfigStore, tmp_path: Path) -> None:
    store.seed(sample(), "setup")
    path = store.export(None, tmp_path / "out" / "live.json")
    document = json.loads(path.read_text())
    assert document["version"] == 1 and document["created_at"] == NOW.isoformat()
    assert LiveConfig.model_validate(document["config"]) == sample()
    second = store.commit(rerouted(), expected_version=1, by="upgrade", reason="change")
    write_config_file(second, path)
    assert json.loads(path.read_text())["version"] == 2
    assert sorted(p.name for p in path.parent.iterdir()) == ["live.json"]
    with pytest.raises(UnknownRecord):
        store.export(5, path)


@pytest.mark.parametrize("failing", ["fsync", "replace"])
def test_failed_export_leaves_the_old_file(store: ConfigStore, tmp_path: Path, failing: str,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    first = store.seed(sample(), "setup")
    path = write_config_file(first, tmp_path / "live.json")
    before = path.read_bytes()
    second = store.commit(rerouted(), expected_version=1, by="upgrade", reason="change")

    def broken(*args: object) -> None:
        raise OSError(f"disk full during {failing}")

    monkeypatch.setattr(os, failing, broken)
    with pytest.raises(OSError, match="disk full"):
        write_config_file(second, path)
    monkeypatch.undo()
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["live.json"]  # no temp file left behind


INVALID: list[tuple[dict[str, Any], str]] = [
    ({"routing": {"coding": {"primary": "nobody/none"}}}, "routing.coding names unknown models: nobody/none"),
    ({"routing": {"coding": {"primary": CODER, "fallbacks": [GPT, "x/y"]}}}, "unknown models: x/y"),
    ({"routing": {"coding": {"primary": CODER, "fallbacks": [GPT, GPT]}}}, "routing.coding lists a model twice"),
    ({"routing": {"coding": {"primary": CODER, "fallbacks": [CODER]}}}, r"lists a model twice \(a primary"),
    ({"routing": {"coding": {"primary": ""}}}, "at least 1 character"),
    ({"categories": {"coding": {"ranking": [CODER, "x/y"]}}}, "ranking names unknown models: x/y"),
    ({"categories": {"coding": {"ranking": [CODER, CODER]}}}, "categories.coding.ranking lists a model twice"),
    ({"models": {GPT: {"prices": {"prompt": "cheap"}}}}, "price prompt='cheap' is not a decimal"),
    ({"models": {GPT: {"context_length": 0}}, "routing": {}, "categories": {}}, "greater than or equal to 1"),
    ({"models": {GPT: {"description": "risk: LOW"}}, "routing": {}, "categories": {}}, "Extra inputs"),
    ({"routes": {}}, "Extra inputs"),
]


@pytest.mark.parametrize(("overrides", "message"), INVALID, ids=[m for _, m in INVALID])
def test_validation_errors(overrides: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        sample(**overrides)


def test_config_is_frozen_and_knows_routed_models() -> None:
    config = sample()
    with pytest.raises(ValidationError):
        config.prompts = {}
    assert config.routed_models() == {CODER, CLAUDE, GPT}
    assert sample(routing={"math": {"primary": GPT}}).routed_models() == {GPT}


def test_dangling_pointer_is_a_clear_error(store: ConfigStore) -> None:
    store.client.set(store.keys.config_current(), "4")
    with pytest.raises(ConfigDecodeError, match="names version 4, which is not stored"):
        store.current()
    store.client.set(store.keys.config_version(4), "{not json")
    with pytest.raises(ConfigDecodeError, match="version 4 does not parse"):
        store.current()

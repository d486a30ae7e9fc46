"""Config patches: every op, preconditions, idempotency, all-or-none, JSON round trips, revert, invalid shapes."""

from __future__ import annotations

import json
from typing import Any

import pytest

from agents.patches import PatchConflict, apply_patch, revert, touched, validate_patch
from blackboard.live_config import LiveConfig

GPT, CODER, CLAUDE, SPARE = "openai/gpt-4.1", "qwen/qwen3-coder", "anthropic/claude-sonnet-4", "mistralai/codestral"
NEW = "qwen/qwen3.5-32b"


def config(**overrides: Any) -> LiveConfig:
    data: dict[str, Any] = {
        "models": {
            GPT: {"context_length": 1_047_576, "prices": {"prompt": "0.000002", "completion": "0.000008"}},
            CODER: {"context_length": 262_144, "prices": {"prompt": "0.0000002"}},
            CLAUDE: {"context_length": 200_000, "prices": {"prompt": "0.000003"}},
            SPARE: {"context_length": 32_000, "active": False},
        },
        "categories": {"coding": {"ranking": [CODER, CLAUDE, GPT]}},
        "routing": {"coding": {"primary": CODER, "fallbacks": [CLAUDE, GPT]}, "math": {"primary": GPT}},
        "prompts": {"coding": "You are a careful programmer.\n{task}"},
        "strategies": {"math": {"name": "self_consistency", "params": {"samples": 5}}},
    }
    data.update(overrides)
    return LiveConfig.model_validate(data)


CODING = {"primary": CODER, "fallbacks": [CLAUDE, GPT]}


def route_op(route: dict[str, Any], expect: dict[str, Any] | None = CODING, category: str = "coding") -> dict[str, Any]:
    return {"op": "set_route", "category": category, "expect": expect, "route": route}


def applied_twice(base: LiveConfig, patch: list[dict[str, Any]]) -> LiveConfig:
    once = apply_patch(base, patch)
    assert apply_patch(once, patch) == once  # idempotent
    assert apply_patch(base, json.loads(json.dumps(patch))) == once  # a JSON round trip changes nothing
    return once


# --- each op ------------------------------------------------------------------------------------------------------

def test_add_model_adds_once_and_refuses_a_different_spec() -> None:
    spec = {"context_length": 131_072, "prices": {"prompt": "0.0000001"}, "added_at": "2026-11-15T03:00:00Z"}
    after = applied_twice(config(), [{"op": "add_model", "model": NEW, "spec": spec}])
    assert after.models[NEW].context_length == 131_072 and after.models[NEW].active
    assert NEW not in after.routed_models()
    with pytest.raises(PatchConflict, match=f"{NEW} is already in the config with another spec"):
        apply_patch(after, [{"op": "add_model", "model": NEW, "spec": {**spec, "context_length": 8}}])


def test_update_model_merges_prices_and_checks_what_it_expects() -> None:
    op = {"op": "update_model", "model": GPT, "set": {"prices": {"prompt": "0.000004", "image": "0.01"},
                                                      "context_length": 500_000},
          "expect": {"prices": {"prompt": "0.000002", "image": None}, "context_length": 1_047_576}}
    after = applied_twice(config(), [op])
    assert after.models[GPT].prices == {"prompt": "0.000004", "completion": "0.000008", "image": "0.01"}
    assert after.models[GPT].context_length == 500_000
    dropped = apply_patch(after, [{"op": "update_model", "model": GPT, "set": {"prices": {"image": None}}}])
    assert "image" not in dropped.models[GPT].prices
    moved_on = apply_patch(config(), [{"op": "update_model", "model": GPT, "set": {"prices": {"prompt": "0.000009"}}}])
    with pytest.raises(PatchConflict, match=r"patch op 0 \(update_model\).*not the expected"):
        apply_patch(moved_on, [op])


@pytest.mark.parametrize(("op", "message"), [
    ({"op": "update_model", "model": "x/unknown", "set": {"active": True}}, "x/unknown is not in the config"),
    ({"op": "update_model", "model": CLAUDE, "set": {"active": False}}, "routed in coding: re-route it first"),
    ({"op": "deactivate", "model": GPT}, "routed in coding, math: re-route it first"),
    ({"op": "deactivate", "model": "x/unknown"}, "not in the config"),
])
def test_model_preconditions(op: dict[str, Any], message: str) -> None:
    with pytest.raises(PatchConflict, match=message):
        apply_patch(config(), [op])


def test_deactivate_an_unrouted_model_and_a_model_routed_away_first() -> None:
    unrouted = config(routing={"coding": {"primary": CODER}})
    assert not applied_twice(unrouted, [{"op": "deactivate", "model": GPT}]).models[GPT].active
    patch = [route_op({"primary": CODER, "fallbacks": [GPT]}), {"op": "deactivate", "model": CLAUDE}]
    after = applied_twice(config(), patch)
    assert not after.models[CLAUDE].active and CLAUDE not in after.routed_models()


def test_set_route_needs_the_expected_route_or_its_own() -> None:
    swapped = {"primary": CLAUDE, "fallbacks": [CODER, GPT]}
    after = applied_twice(config(), [route_op(swapped)])
    assert after.routing["coding"].primary == CLAUDE
    with pytest.raises(PatchConflict, match=r"routing.coding is .*anthropic.*not the expected"):
        apply_patch(after, [route_op({"primary": GPT, "fallbacks": [CODER]})])
    new_category = applied_twice(config(), [route_op({"primary": CLAUDE}, expect=None, category="writing")])
    assert new_category.routing["writing"].primary == CLAUDE
    with pytest.raises(PatchConflict, match="not the expected null"):
        apply_patch(config(), [route_op({"primary": CLAUDE}, expect=None, category="coding")])


@pytest.mark.parametrize(("route", "message"), [
    ({"primary": SPARE, "fallbacks": [CODER]}, f"{SPARE} is inactive and cannot join routing.coding"),
    ({"primary": "x/unknown"}, "x/unknown is not in the config"),
])
def test_set_route_refuses_inactive_and_unknown_models(route: dict[str, Any], message: str) -> None:
    with pytest.raises(PatchConflict, match=message):
        apply_patch(config(), [route_op(route)])


def test_set_ranking_drops_unknown_models_and_creates_a_category() -> None:
    patch = [{"op": "set_ranking", "category": "coding", "ranking": [GPT, "x/unknown", CLAUDE, GPT]},
             {"op": "set_ranking", "category": "translation", "ranking": ["x/unknown"]}]
    after = applied_twice(config(), patch)
    assert after.categories["coding"].ranking == (GPT, CLAUDE)
    assert after.categories["translation"].ranking == ()


def test_prompt_and_strategy_ops() -> None:
    prompt = {"op": "set_prompt", "category": "coding", "expect": "You are a careful programmer.\n{task}",
              "template": "Think step by step.\n{task}"}
    strategy = {"op": "set_strategy", "category": "math", "expect": {"name": "self_consistency",
                                                                     "params": {"samples": 5}},
                "strategy": {"name": "self_consistency", "params": {"samples": 9}}}
    fresh = {"op": "set_prompt", "category": "math", "expect": None, "template": "Show your work.\n{task}"}
    after = applied_twice(config(), [prompt, strategy, fresh])
    assert after.prompts == {"coding": "Think step by step.\n{task}", "math": "Show your work.\n{task}"}
    assert after.strategies["math"].params == {"samples": 9}
    with pytest.raises(PatchConflict, match="prompts.coding is"):
        apply_patch(after, [{**prompt, "template": "Another.\n{task}"}])
    with pytest.raises(PatchConflict, match="strategies.math is"):
        apply_patch(after, [{**strategy, "strategy": {"name": "cot"}}])


def test_a_patch_applies_all_or_none() -> None:
    base = config()
    patch: list[dict[str, Any]] = [{"op": "update_model", "model": GPT, "set": {"context_length": 10}},
                                   {"op": "deactivate", "model": GPT}]
    with pytest.raises(PatchConflict) as caught:
        apply_patch(base, patch)
    assert (caught.value.index, caught.value.op) == (1, "deactivate") and isinstance(caught.value, ValueError)
    assert base.models[GPT].context_length == 1_047_576


# --- invalid shapes -----------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("patch", "message"), [
    ({"op": "deactivate", "model": GPT}, "a patch must be a list of ops"),
    ("deactivate", "a patch must be a list of ops"),
    (["deactivate"], "an op must be an object"),
    ([{"op": "delete_everything"}], "unknown op 'delete_everything'"),
    ([{"op": "deactivate"}], r"patch op 0 \(deactivate\): missing model"),
    ([{"op": "deactivate", "model": GPT, "force": True}], "unknown keys force"),
    ([{"op": "deactivate", "model": ""}], "'model' must be a non-empty string"),
    ([{"op": "add_model", "model": NEW, "spec": {"prices": {"prompt": "cheap"}}}], "not a decimal number"),
    ([{"op": "add_model", "model": NEW, "spec": {"colour": "red"}}], "'spec' is invalid"),
    ([{"op": "update_model", "model": GPT, "set": {}}], "'set' must be a non-empty object"),
    ([{"op": "update_model", "model": GPT, "set": {"name": "x"}}], "may only hold"),
    ([{"op": "update_model", "model": GPT, "set": {"context_length": 0}}], "positive integer"),
    ([{"op": "update_model", "model": GPT, "set": {"active": "yes"}}], "true or false"),
    ([{"op": "update_model", "model": GPT, "set": {"active": True}, "expect": {"context_length": 5}}],
     "'expect' must name the same fields"),
    ([route_op({"fallbacks": [GPT]})], "'route' is invalid"),
    ([{"op": "set_route", "category": "coding", "route": {"primary": GPT}}], "missing expect"),
    ([{"op": "set_ranking", "category": "coding", "ranking": GPT}], "'ranking' must be a list"),
    ([{"op": "set_prompt", "category": "coding", "expect": None, "template": 3}], "'template' must be a string"),
    ([{"op": "set_strategy", "category": "math", "expect": None, "strategy": {"params": {}}}], "'strategy' is invalid"),
])
def test_invalid_ops_are_value_errors_not_conflicts(patch: Any, message: str) -> None:
    for check in (validate_patch, lambda p: apply_patch(config(), p), touched):
        with pytest.raises(ValueError, match=message) as caught:
            check(patch)
        assert not isinstance(caught.value, PatchConflict)


# --- revert -------------------------------------------------------------------------------------------------------

def test_revert_undoes_one_change_and_keeps_later_ones() -> None:
    v1 = config()
    v2 = apply_patch(v1, [route_op({"primary": CLAUDE, "fallbacks": [CODER, GPT]}),
                          {"op": "add_model", "model": NEW, "spec": {}}])
    v3 = apply_patch(v2, [{"op": "update_model", "model": GPT, "set": {"prices": {"prompt": "0.000001"}}},
                          {"op": "set_prompt", "category": "math", "expect": None, "template": "Work it out.\n{task}"}])
    undone = revert(v3, v1, v2)
    assert undone.routing == v1.routing and NEW not in undone.models
    assert undone.models[GPT].prices["prompt"] == "0.000001" and undone.prompts["math"] == "Work it out.\n{task}"
    assert revert(undone, v1, v2) == undone  # already undone: nothing left to do
    assert revert(v2, v1, v2) == v1


def test_revert_refuses_an_entry_changed_since() -> None:
    v1 = config()
    v2 = apply_patch(v1, [route_op({"primary": CLAUDE, "fallbacks": [CODER, GPT]})])
    v3 = apply_patch(v2, [route_op({"primary": GPT, "fallbacks": [CLAUDE]},
                                   expect={"primary": CLAUDE, "fallbacks": [CODER, GPT]})])
    with pytest.raises(PatchConflict, match=r"routing\[coding\] changed since") as caught:
        revert(v3, v1, v2)
    assert caught.value.op == "revert"


def test_revert_refuses_to_leave_an_invalid_config() -> None:
    v1 = config()
    v2 = apply_patch(v1, [{"op": "add_model", "model": NEW, "spec": {}}])
    v3 = apply_patch(v2, [route_op({"primary": NEW}, expect=None, category="writing")])
    with pytest.raises(PatchConflict, match="routing.writing names unknown models"):
        revert(v3, v1, v2)


def test_touched_names_newly_routed_models_and_changed_categories() -> None:
    patch = [{"op": "add_model", "model": NEW, "spec": {}},
             route_op({"primary": NEW, "fallbacks": [CODER, CLAUDE]}),
             route_op({"primary": CLAUDE}, expect=None, category="writing"),
             {"op": "set_ranking", "category": "coding", "ranking": [NEW]}]
    assert touched(patch) == {"routed_models": [CLAUDE, NEW], "categories": ["coding", "writing"]}
    assert touched([]) == {"routed_models": [], "categories": []}

"""The catalog agent's judgement, table by table: integrity, and every kind of change."""

from __future__ import annotations

import copy
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from agents.catalog import CatalogPolicy, Tombstone, diff, index, price, validate
from blackboard.entries import CatalogChange

NOW = datetime(2026, 11, 22, 3, 0, tzinfo=UTC)
POLICY = CatalogPolicy(min_models=3)


def model(model_id: str, prompt: str = "0.000001", completion: str = "0.000002", **extra: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": model_id, "name": model_id.title(), "context_length": 131072,
        "pricing": {"prompt": prompt, "completion": completion},
        "architecture": {"input_modalities": ["text"], "output_modalities": ["text"]},
        "top_provider": {"context_length": 131072, "max_completion_tokens": 8192},
        "supported_parameters": ["temperature", "tools"], "expiration_date": None, "future_field": {"x": 1},
    }
    data.update(extra)
    return data


BASE = index([model("a/one"), model("b/two"), model("c/three"), model("d/four", prompt="0", completion="0"),
              model("openrouter/auto", prompt="-1", completion="-1")])


def changes(current: dict[str, Any], previous: dict[str, Any] | None = BASE,
            graves: dict[str, Tombstone] | None = None, now: datetime = NOW) -> list[CatalogChange]:
    return diff(previous, current, graves or {}, "2026-W47", now, POLICY).changes


def one(found: list[CatalogChange], kind: str) -> CatalogChange:
    matching = [c for c in found if c.change == kind]
    assert len(matching) == 1, [(c.model_id, c.change, c.field) for c in found]
    return matching[0]


@pytest.mark.parametrize(("models", "previous", "problem"), [
    ({"data": []}, None, "not a list"),
    ([model("a"), model("b"), {"name": "no id"}], None, "fail the schema"),
    ([model("a"), model("a"), model("b")], None, "duplicate"),
    ([model("a"), model("b")], None, "only 2 models"),
    ([model(f"m{i}") for i in range(4)], 10, "shrunk below 50% of the last good 10"),
])
def test_untrustworthy_catalogs_are_rejected(models: Any, previous: int | None, problem: str) -> None:
    assert any(problem in p for p in validate(models, previous, POLICY))


def test_a_healthy_catalog_passes() -> None:
    assert validate([model(f"m{i}") for i in range(6)], 10, POLICY) == []


def test_prices() -> None:
    assert price("0.000001") == Decimal("0.000001") and price(None) == 0 and price("-1") is None
    assert price("oops") is None


def test_first_sync_is_a_baseline_not_a_flood() -> None:
    assert changes(BASE, previous=None) == []


def test_added_removed_and_unknown_fields_kept() -> None:
    current = {**{k: v for k, v in BASE.items() if k != "b/two"}, "e/five": model("e/five", brand_new=True)}
    found = diff(BASE, current, {}, "2026-W47", NOW, POLICY)
    added, removed = one(found.changes, "added"), one(found.changes, "removed")
    assert added.model_id == "e/five" and added.details["pricing"] == {"prompt": "$1/M", "completion": "$2/M"}
    assert removed.model_id == "b/two" and removed.details["grace_until"] == "2026-12-22"
    assert found.tombstones["b/two"].model["name"] == "B/Two"


def test_grace_period_inactive_once_then_purged_and_a_return() -> None:
    graves = {"b/two": Tombstone("b/two", NOW - timedelta(days=8), BASE["b/two"])}
    current = {k: v for k, v in BASE.items() if k != "b/two"}
    week_later = diff(current, current, graves, "2026-W47", NOW, POLICY)
    assert one(week_later.changes, "inactive").details["days_missing"] == 8
    assert diff(current, current, week_later.tombstones, "2026-W48", NOW, POLICY).changes == []  # said once
    month_later = diff(current, current, graves, "2026-W51", NOW + timedelta(days=23), POLICY)
    assert one(month_later.changes, "purged").model_id == "b/two" and month_later.tombstones == {}
    back = diff(current, BASE, graves, "2026-W47", NOW, POLICY)
    assert one(back.changes, "returned").model_id == "b/two" and back.tombstones == {}


@pytest.mark.parametrize(("model_id", "new_prices", "expected"), [
    ("a/one", {"prompt": "0.0000011"}, {"ratio": 1.1}),
    ("a/one", {"prompt": "0.000011"}, {"ratio": 11.0, "big_move": True}),
    ("a/one", {"prompt": "0.00000009"}, {"ratio": 0.09, "big_move": True}),
    ("d/four", {"prompt": "0.000001"}, {"crosses_zero": True}),
    ("a/one", {"prompt": "0"}, {"ratio": 0.0, "crosses_zero": True}),
    ("openrouter/auto", {"prompt": "0.000003"}, {"router": True}),
])
def test_price_moves(model_id: str, new_prices: dict[str, str], expected: dict[str, Any]) -> None:
    current = copy.deepcopy(BASE)
    current[model_id]["pricing"].update(new_prices)
    move = one(changes(current), "repriced")
    assert move.model_id == model_id and move.field == "pricing.prompt"
    assert {k: v for k, v in move.details.items() if k != "fetched_at"} == expected
    assert move.details["fetched_at"] == NOW.isoformat()  # provenance: source and when it was fetched


def test_a_missing_price_key_means_zero_not_a_change() -> None:
    current = copy.deepcopy(BASE)
    del current["d/four"]["pricing"]["completion"]  # "0" before, missing now
    current["a/one"]["pricing"]["input_cache_read"] = "0"
    assert changes(current) == []


def test_sizes_capabilities_deprecation_and_metadata() -> None:
    current = copy.deepcopy(BASE)
    current["a/one"]["context_length"] = 32768
    current["a/one"]["top_provider"]["max_completion_tokens"] = 16384
    current["b/two"]["architecture"]["input_modalities"] = ["text", "image"]
    current["b/two"]["supported_parameters"] = ["temperature", "reasoning"]
    current["c/three"]["expiration_date"] = "2027-01-31"
    current["c/three"]["name"] = "C Three v2"
    current["c/three"]["description"] = "now longer"
    found = changes(current)
    shrink = one(found, "context_changed")
    assert (shrink.old, shrink.new, shrink.details["shrink"]) == (131072, 32768, True)
    assert "shrink" not in one(found, "max_tokens_changed").details  # a grow is not flagged
    assert one(found, "modalities_changed").new == ["image", "text"]
    params = one(found, "parameters_changed").details
    assert (params["added"], params["removed"]) == (["reasoning"], ["tools"])
    assert one(found, "deprecated").new == "2027-01-31"
    assert {c.field for c in found if c.change == "metadata_changed"} == {"name", "description"}


def test_the_same_diff_twice_gives_the_same_ids() -> None:
    current = copy.deepcopy(BASE)
    current["a/one"]["pricing"]["prompt"] = "0.000005"
    assert [c.id for c in changes(current)] == [c.id for c in changes(current)]

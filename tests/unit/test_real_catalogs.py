"""The catalog agent on real recorded OpenRouter catalogs (../shared/data; skipped where it is absent)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from agents.catalog import CatalogPolicy, diff, index, validate
from tests.conftest import REPO

DATA = REPO.parent / "shared" / "data" / "openrouter"
pytestmark = pytest.mark.skipif(not DATA.is_dir(), reason=f"real snapshots not found at {DATA}")
NOW = datetime(2026, 11, 22, tzinfo=UTC)


def load(path: Path) -> list[dict[str, Any]]:
    body = json.loads(path.read_text())
    return body if isinstance(body, list) else body["data"]


def expected(before: list[dict[str, Any]], after: list[dict[str, Any]]) -> tuple[set[str], set[str], set[str]]:
    """The same sets computed independently: plain set arithmetic and a numeric comparison of every price."""
    old, new = {m["id"]: m for m in before}, {m["id"]: m for m in after}

    def prices(model: dict[str, Any]) -> dict[str, Decimal]:
        return {k: Decimal(str(v)) for k, v in (model.get("pricing") or {}).items()
                if isinstance(v, (str, int, float))}

    repriced = set()
    for model_id in old.keys() & new.keys():
        a, b = prices(old[model_id]), prices(new[model_id])
        if any(a.get(key, Decimal(0)) != b.get(key, Decimal(0)) for key in a.keys() | b.keys()):
            repriced.add(model_id)
    return set(new) - set(old), set(old) - set(new), repriced


WEEKLY = sorted((DATA / "skissue_daily").glob("*.json")) if DATA.is_dir() else []


@pytest.mark.parametrize(("before", "after"), list(zip(WEEKLY, WEEKLY[1:], strict=False)),
                         ids=[p.stem[-10:] for p in WEEKLY[1:]])
def test_weekly_diffs_match_an_independent_computation(before: Path, after: Path) -> None:
    old, new = load(before), load(after)
    assert validate(new, len(old), CatalogPolicy()) == []
    found = diff(index(old), index(new), {}, "replay", NOW, CatalogPolicy())
    added, removed, repriced = expected(old, new)
    assert set(found.ids("added")) == added
    assert set(found.ids("removed")) == removed
    assert set(found.ids("repriced")) == repriced
    assert len(found.changes) >= len(added) + len(removed) + len(repriced)


def test_a_real_week_has_the_churn_the_research_measured() -> None:
    old, new = load(WEEKLY[-2]), load(WEEKLY[-1])
    found = diff(index(old), index(new), {}, "replay", NOW, CatalogPolicy())
    assert 2 <= len(found.ids("added")) <= 30 and 1 <= len(found.ids("removed")) <= 15


@pytest.mark.parametrize("path", sorted((DATA / "sternelee_solid-pile").glob("*.json")) if DATA.is_dir() else [],
                         ids=lambda p: p.stem)
def test_2024_format_catalogs_parse_and_diff(path: Path) -> None:
    models = load(path)
    assert validate(models, None, CatalogPolicy(min_models=50)) == []
    baseline = index(models[:-3])
    found = diff(baseline, index(models), {}, "replay", NOW, CatalogPolicy())
    assert set(found.ids("added")) == {m["id"] for m in models[-3:]}


def test_the_full_modality_listing_validates() -> None:
    models = load(DATA / "anuran-roy" / "openrouter_models_all_2026-08-19.json")
    text_only = load(DATA / "anuran-roy" / "openrouter_models_2026-08-19.json")
    assert validate(models, None, CatalogPolicy()) == [] and len(models) > len(text_only)


def test_real_ids_parse_into_families() -> None:
    from agents.families import parse

    ids = [m["id"] for m in load(WEEKLY[-1])]
    names = [parse(model_id) for model_id in ids]
    assert sum(1 for n in names if n.version) / len(names) > 0.7
    llama = [n for n in names if n.family_key == "meta-llama/llama"]
    assert llama and all(n.version for n in llama)

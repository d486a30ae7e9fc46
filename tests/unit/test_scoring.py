from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from agents.scoring import Facts, Weights, commercial_use, recency, score

NOW = datetime(2026, 11, 22, tzinfo=UTC)


@pytest.mark.parametrize(("age_days", "expected"), [(0, 100.0), (30, 100.0), (197.5, 60.0), (365, 20.0),
                                                     (1000, 20.0)])
def test_recency(age_days: float, expected: float) -> None:
    assert recency(Facts("m", created=NOW - timedelta(days=age_days)), NOW) == pytest.approx(expected, abs=0.3)


@pytest.mark.parametrize(("license_name", "commercial"), [("apache-2.0", True), ("MIT", True),
                                                          ("cc-by-nc-4.0", False), ("weird-license", None),
                                                          (None, None)])
def test_commercial_use(license_name: str | None, commercial: bool | None) -> None:
    assert commercial_use(license_name) is commercial


def test_a_fully_known_model() -> None:
    facts = Facts("qwen/qwen3-8b", downloads=10_000_000, likes=10_000, created=NOW - timedelta(days=10),
                  own_score=0.8, license="apache-2.0", gated=False, inference=True, free_tier=False)
    result = score(facts, NOW)
    assert result.parts == {"popularity": 100.0, "performance": 80.0, "recency": 100.0, "compatibility": 75.0}
    assert result.total == pytest.approx(0.3 * 100 + 0.35 * 80 + 0.15 * 100 + 0.2 * 75)
    assert result.confidence == 1.0 and result.notes == ["performance: our benchmark"]


def test_unknowns_are_said_not_invented() -> None:
    result = score(Facts("closed/model", created=NOW - timedelta(days=400), inference=True), NOW)
    assert result.parts["performance"] is None and result.parts["popularity"] is None
    assert result.to_json()["breakdown"]["performance"] == "unknown"
    assert result.confidence == pytest.approx(0.35)  # recency and compatibility only
    assert result.total == pytest.approx((0.15 * 20 + 0.2 * 100) / 0.35)
    assert "performance: no benchmark result yet" in result.notes


def test_weights_are_configuration() -> None:
    facts = Facts("m", published_index=50.0, created=NOW)
    assert score(facts, NOW, Weights(popularity=0, performance=1, recency=0, compatibility=0)).total == 50.0

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from agents.categories import intent, openrouter_facts, ranking_from_measurements
from blackboard.entries import Measurement

NOW = datetime(2026, 11, 22, tzinfo=UTC)


@pytest.mark.parametrize(("text", "category"), [
    ("translate this to French", "translation"),
    ("Write a Python function that parses dates", "coding"),
    ("Solve the equation x^2 = 4", "math"),
    ("Summarize this article in three key points", "summarization"),
    ("Write meta description and keywords for our SEO page", "marketing/seo"),
    ("hello there", None),
])
def test_intent(text: str, category: str | None) -> None:
    assert intent(text).category == category


def test_ranking_from_our_measurements() -> None:
    def m(model: str, value: float, category: str = "math") -> Measurement:
        return Measurement(cycle_id="c", agent="benchmark", created_at=NOW, run_id=f"{model}{value}", model=model,
                           category=category, metric="score", value=value)

    ranking = ranking_from_measurements([m("a", 0.5), m("b", 0.9), m("a", 0.7), m("c", 0.1, "coding")])
    assert ranking == {"math": ["b", "a"], "coding": ["c"]}


def test_openrouter_facts_join_the_hub() -> None:
    facts = openrouter_facts({"id": "meta-llama/llama-3.3-70b-instruct:free", "created": 1_750_000_000,
                              "pricing": {"prompt": "0", "completion": "0"},
                              "benchmarks": {"artificial_analysis": {"intelligence_index": 41.2}}},
                             {"downloads": 900_000, "likes": 2500, "license": "llama3.3", "gated": True})
    assert facts == {"downloads": 900_000, "likes": 2500, "license": "llama3.3", "gated": True,
                     "created": 1_750_000_000, "published_index": 41.2, "free_tier": True}

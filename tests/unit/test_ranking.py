from __future__ import annotations

import math

import pytest

from agents.ranking import BM25, impact, rank, tokens

ABSTRACTS = [
    "We improve chain-of-thought reasoning with adaptive self-consistency sampling at test time.",
    "A new dataset of bird songs recorded in the Alps.",
    "Retrieval-augmented generation with dense retrieval and a cross-encoder reranking of passages.",
    "Routing queries between a small and a large model cuts inference cost by 40% at equal quality.",
    "Multi-agent orchestration: agents collaborate, plan and use tools.",
]


def test_tokens() -> None:
    assert tokens("Chain-of-Thought prompting for LLMs") == ["chain-of-thought", "chain", "thought", "prompting"]
    assert tokens("Studies of the queries") == ["study", "query"]


def test_bm25_matches_the_formula() -> None:
    docs = [["a1", "b1"], ["a1"], ["c1"]]
    index = BM25(docs)
    score, matched = index.scores(["a1"])[1]
    idf = math.log(1 + (3 - 2 + 0.5) / (2 + 0.5))
    expected = idf * (1 * 2.5) / (1 + 1.5 * (1 - 0.75 + 0.75 * 1 / (4 / 3)))
    assert score == pytest.approx(expected) and matched == {"a1"}
    assert 2 not in index.scores(["a1"])


def test_each_abstract_ranks_under_its_topic_with_its_terms() -> None:
    ranked = {r.index: r for r in rank(ABSTRACTS)}
    assert ranked[0].topic == "reasoning"
    assert {"chain-of-thought", "self-consistency", "sampling"} <= set(ranked[0].matched["reasoning"])
    assert ranked[1].topic is None and ranked[1].score == 0.0
    assert ranked[2].topic == "retrieval-augmented generation"
    assert ranked[3].topic == "routing and inference cost"
    assert ranked[4].topic == "multi-agent orchestration"
    assert rank(ABSTRACTS)[-1].index == 1  # the birds come last


@pytest.mark.parametrize(("percentile", "source", "count", "novelty", "level"), [
    (1.0, "feed:openai", 2, 1.0, "high"), (0.95, "arxiv", 1, 1.0, "medium"), (0.99, "arxiv", 3, 1.0, "high"),
    (0.5, "arxiv", 1, 1.0, "low"), (1.0, "arxiv", 1, 0.0, "medium"),
])
def test_impact(percentile: float, source: str, count: int, novelty: float, level: str) -> None:
    assert impact(percentile, source, count, novelty) == level

"""Ranking research items against topics of interest, offline: BM25 over title and abstract, matched terms kept.

Each query's BM25 score is scaled by the share of its terms a document matched (a coordination factor): on real
arXiv listings, single generic words ("scaling", "latency") otherwise let unrelated papers rank high. An optional
second stage (``rerank``) re-orders BM25's best candidates by reciprocal-rank fusion with sentence embeddings.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from agents.embedding import Encoder, Vectors

STOPWORDS = frozenset("""a an and are as at be by for from has have in into is it its of on or that the their this to
we with via our using use used based new large language model models llm llms paper show shows than these those can
towards toward""".split())
DEFAULT_TOPICS: dict[str, list[str]] = {
    "reasoning": ["chain-of-thought reasoning", "self-consistency sampling", "test-time compute scaling reasoning",
                  "step-by-step reasoning improvement"],
    "multi-agent orchestration": ["multi-agent orchestration", "agents collaborate planning", "tool use agents"],
    "retrieval-augmented generation": ["retrieval-augmented generation", "retrieval augmented rag",
                                       "dense retrieval reranking passages"],
    "evaluation": ["evaluation benchmark", "llm-as-a-judge evaluation", "benchmark contamination leaderboard"],
    "routing and inference cost": ["model routing router", "inference cost reduction",
                                   "speculative decoding latency throughput"],
}
_WORD = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")


def _stem(word: str) -> str:
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 4 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    return word


def tokens(text: str) -> list[str]:
    """Lower-cased words, lightly stemmed, without stopwords; a hyphenated term counts whole and by its parts."""
    out: list[str] = []
    for word in _WORD.findall(text.lower()):
        parts = word.split("-")
        for piece in ([word] if len(parts) > 1 else []) + parts:
            if piece not in STOPWORDS and len(piece) > 1:
                out.append(_stem(piece))
    return out


class BM25:
    """Okapi BM25 (k1=1.5, b=0.75) with postings, so a query only touches the documents that hold its terms."""

    def __init__(self, documents: Sequence[Sequence[str]], k1: float = 1.5, b: float = 0.75) -> None:
        self.k1, self.b = k1, b
        self.lengths = [len(doc) for doc in documents]
        self.average = sum(self.lengths) / len(documents) if documents else 0.0
        self.postings: dict[str, list[tuple[int, int]]] = {}
        for index, doc in enumerate(documents):
            for term, count in Counter(doc).items():
                self.postings.setdefault(term, []).append((index, count))
        n = len(documents)
        self.idf = {term: math.log(1 + (n - len(p) + 0.5) / (len(p) + 0.5)) for term, p in self.postings.items()}

    def scores(self, query: Sequence[str]) -> dict[int, tuple[float, set[str]]]:
        """Document index -> (score, the query terms it matched)."""
        found: dict[int, tuple[float, set[str]]] = {}
        for term in set(query):
            for index, count in self.postings.get(term, []):
                norm = count * (self.k1 + 1) / (count + self.k1 * (1 - self.b + self.b * self.lengths[index]
                                                                   / (self.average or 1)))
                score, matched = found.get(index, (0.0, set()))
                found[index] = (score + self.idf[term] * norm, matched | {term})
        return found


@dataclass
class Ranked:
    index: int
    score: float  # the best topic's score
    topic: str | None
    topics: dict[str, float] = field(default_factory=dict)
    matched: dict[str, list[str]] = field(default_factory=dict)
    similarity: dict[str, float] = field(default_factory=dict)  # cosine to the topic's closest query (re-rank)
    fused: float | None = None  # the reciprocal-rank fusion score under ``topic`` (re-rank)


def rank(texts: Sequence[str], topics: dict[str, list[str]] = DEFAULT_TOPICS) -> list[Ranked]:
    """Every text scored against every topic (a topic scores as its best query), best first."""
    index = BM25([tokens(text) for text in texts])
    ranked = [Ranked(i, 0.0, None) for i in range(len(texts))]
    for topic, queries in topics.items():
        for query in queries:
            terms = tokens(query)
            for doc, (score, matched) in index.scores(terms).items():
                entry = ranked[doc]  # a topic scores as its best query; its matched terms are every query's
                score *= len(matched) / len(set(terms))  # coordination: one generic word is a weak match
                entry.topics[topic] = max(entry.topics.get(topic, 0.0), round(score, 4))
                entry.matched[topic] = sorted({*entry.matched.get(topic, []), *matched})
    for entry in ranked:
        if entry.topics:
            entry.topic, entry.score = max(entry.topics.items(), key=lambda item: item[1])
    return sorted(ranked, key=lambda r: (-r.score, r.index))


def rerank(texts: Sequence[str], ranked: list[Ranked], encoder: Encoder,
           topics: dict[str, list[str]] = DEFAULT_TOPICS, top: int = 100, k: int = 60) -> list[Ranked]:
    """``rank``'s output with each topic's ``top`` BM25 candidates re-ordered by reciprocal-rank fusion (``k``) of
    their BM25 rank and their embedding rank (cosine to the topic's closest query). Re-ranked entries take the
    topic they fuse best under, keep their BM25 scores and matched terms, and come first; the rest keep BM25 order.
    The entries are updated in place."""
    candidates = {topic: sorted((r for r in ranked if r.topics.get(topic)), key=lambda r: (-r.topics[topic],
                                                                                          r.index))[:top]
                  for topic in topics}
    pool = sorted({entry.index for hits in candidates.values() for entry in hits})
    if not pool:
        return ranked
    row = {index: position for position, index in enumerate(pool)}
    documents = encoder.encode([texts[index] for index in pool])
    fused: dict[int, dict[str, float]] = {}
    for topic, hits in candidates.items():
        if not hits or not topics[topic]:
            continue
        closest = (documents[[row[entry.index] for entry in hits]] @ encoder.encode(topics[topic]).T).max(axis=1)
        by_meaning = sorted(range(len(hits)), key=lambda i: (-closest[i], i))
        meaning_place = {i: place for place, i in enumerate(by_meaning, 1)}
        for i, entry in enumerate(hits):
            entry.similarity[topic] = round(float(closest[i]), 4)
            fused.setdefault(entry.index, {})[topic] = 1 / (k + i + 1) + 1 / (k + meaning_place[i])
    for entry in ranked:
        if entry.index in fused:
            entry.topic, entry.fused = max(fused[entry.index].items(), key=lambda item: item[1])
            entry.score = entry.topics[entry.topic]
    lifted = sorted((r for r in ranked if r.fused is not None), key=lambda r: (-(r.fused or 0.0), -r.score, r.index))
    return lifted + [r for r in ranked if r.fused is None]


def novelty(vector: Vectors, recent: Vectors) -> float:
    """1 - the highest cosine similarity to recent findings' unit vectors (the rows of ``recent``); 1 if none."""
    if not len(recent):
        return 1.0
    return min(1.0, max(0.0, 1.0 - float((recent @ vector).max())))


AUTHORITY = {"arxiv": 0.5, "huggingface": 0.6, "feed": 0.8}


def impact(relevance_percentile: float, source: str, sources_count: int, novelty: float) -> str:
    """high, medium or low: relevance within the batch, how authoritative the source is, how new it is."""
    authority = min(1.0, AUTHORITY.get(source.split(":")[0], 0.5) + 0.15 * (sources_count - 1))
    value = 0.6 * relevance_percentile + 0.25 * authority + 0.15 * novelty
    return "high" if value >= 0.85 else "medium" if value >= 0.6 else "low"

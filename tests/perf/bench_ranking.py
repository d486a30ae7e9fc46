"""Ranking 10,000 abstracts against the default topics: BM25 (ours) against a plain tf-idf baseline, same run.

Run: ``python tests/perf/bench_ranking.py`` (or every benchmark: ``python -m tests.perf``). The abstracts are built
from the real arXiv abstracts in ``../shared/data/arxiv`` when present (sentences reshuffled into 10,000 texts),
else from a fixed vocabulary; both rankers get the same token lists (tokenising is timed separately). The aim: the
BM25 stage costs no more than the tf-idf baseline. Then the optional embedding re-rank (numpy MiniLM, when its model
package is installed): the model's load time, documents embedded per second, and what re-ranking 100 BM25
candidates adds (time and ``tracemalloc`` peak), against ``rank()`` of all 10,000 abstracts in the same run.
"""

from __future__ import annotations

import math
import os
import random
import re
import resource
import subprocess
import sys
import time
import tracemalloc
import xml.etree.ElementTree as ElementTree
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from agents import embedding  # noqa: E402
from agents.ranking import BM25, DEFAULT_TOPICS, rank, rerank, tokens  # noqa: E402
from tests.perf._redis import median, run_benchmark  # noqa: E402

COUNT = 10_000
CANDIDATES = 100
DATA = ROOT.parent / "shared" / "data" / "arxiv"


def sentences() -> list[str]:
    found = []
    for path in sorted(DATA.rglob("*.xml")) if DATA.is_dir() else []:
        for entry in ElementTree.parse(path).getroot().iter("{http://www.w3.org/2005/Atom}entry"):
            text = " ".join((entry.findtext("{http://www.w3.org/2005/Atom}summary") or "").split())
            found += [s for s in re.split(r"(?<=\.)\s+", text) if len(s) > 30]
    if found:
        return found
    words = "model reasoning retrieval agents evaluation benchmark routing cost graph physics data".split()
    return [" ".join(random.Random(i).choices(words, k=14)) + "." for i in range(500)]


def abstracts() -> list[str]:
    pool, rng = sentences(), random.Random(7)
    return [" ".join(rng.choices(pool, k=6)) for _ in range(COUNT)]


def tfidf_rank(documents: list[list[str]], topics: dict[str, list[str]]) -> list[tuple[int, float]]:
    """The baseline: tf-idf vectors and cosine similarity to each query, a topic scoring as its best query."""
    df = Counter(term for doc in documents for term in set(doc))
    n = len(documents)
    idf = {term: math.log(n / count) for term, count in df.items()}
    vectors = []
    for doc in documents:
        weights = {term: count * idf[term] for term, count in Counter(doc).items()}
        norm = math.sqrt(sum(w * w for w in weights.values())) or 1.0
        vectors.append({term: w / norm for term, w in weights.items()})
    best = [0.0] * n
    for queries in topics.values():
        for query in queries:
            q = {term: idf.get(term, 0.0) for term in tokens(query)}
            q_norm = math.sqrt(sum(w * w for w in q.values())) or 1.0
            for index, vector in enumerate(vectors):
                score = sum(vector.get(term, 0.0) * w for term, w in q.items()) / q_norm
                best[index] = max(best[index], score)
    return sorted(enumerate(best), key=lambda item: -item[1])


def timed(work, repetitions: int = 3) -> tuple[float, float]:  # type: ignore[no-untyped-def]
    seconds = []
    for _ in range(repetitions):
        started = time.perf_counter()
        work()
        seconds.append(time.perf_counter() - started)
    tracemalloc.start()
    work()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return median(seconds), peak / 1e6


def main() -> int:
    texts = abstracts()
    started = time.perf_counter()
    documents = [tokens(text) for text in texts]
    tokenising = time.perf_counter() - started
    print(f"== ranking {COUNT} abstracts ({sum(map(len, documents)) / COUNT:.0f} tokens each) against "
          f"{sum(map(len, DEFAULT_TOPICS.values()))} queries in {len(DEFAULT_TOPICS)} topics ==")
    ours_s, ours_mb = timed(lambda: rank(texts))  # includes tokenising, like the scan does
    def bm25_stage() -> None:  # one index, every query: what rank() does after tokenising
        index = BM25(documents)
        for queries in DEFAULT_TOPICS.values():
            for query in queries:
                index.scores(tokens(query))

    bm25_s, bm25_mb = timed(bm25_stage)
    base_s, base_mb = timed(lambda: tfidf_rank(documents, DEFAULT_TOPICS))
    print(f"tokenising: {tokenising:.3f} s")
    print(f"{'case':<40}{'median s':>10}{'peak MB':>10}")
    for name, seconds, mb in (("tf-idf + cosine (baseline)", base_s, base_mb), ("BM25 stage (same tokens)", bm25_s,
                              bm25_mb), ("rank() end to end (tokenising too)", ours_s, ours_mb)):
        print(f"{name:<40}{seconds:>10.3f}{mb:>10.1f}")
    ratio = bm25_s / base_s
    print(f"ratio BM25/tf-idf time   = {ratio:.2f}  (aim <= 1: {'MEETS' if ratio <= 1 else 'MISSES'})")
    print(f"ratio BM25/tf-idf memory = {bm25_mb / base_mb:.2f}")
    embedding_stage(texts, ours_s)
    return 0


def resident_mb() -> float:
    """This process's resident memory now (Linux), else its peak."""
    try:
        return int(Path("/proc/self/statm").read_text().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 1e6
    except (OSError, ValueError, IndexError):
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e3


def embedding_stage(texts: list[str], rank_seconds: float) -> None:
    """The re-rank of 100 candidates (the scan's default top per topic) and what it is made of."""
    if not embedding.available():
        print(f"embedding re-rank: the model package is not installed ({embedding.INSTALL}); nothing measured")
        return
    probe = ("import time; from tests.perf.bench_ranking import resident_mb; from agents.embedding import MiniLM; "
             "before, started = resident_mb(), time.perf_counter(); MiniLM().load(); "
             "print(time.perf_counter() - started, resident_mb() - before)")
    fresh = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True)
    load_s, loaded = map(float, fresh.stdout.split())  # in a fresh process: nothing of this run's heap reused
    embedding.MiniLM().load()
    sample = [texts[r.index] for r in rank(texts[:400]) if r.topic][:CANDIDATES]
    ranked = rank(sample)
    threads = os.environ.get("OPENBLAS_NUM_THREADS", "default")
    print(f"\n== embedding re-rank: numpy MiniLM, {os.cpu_count()} cores, OpenBLAS threads {threads}, "
          f"{len(sample)} matched abstracts ==")
    print(f"model load (a fresh process): {load_s:.2f} s, +{loaded:.0f} MB resident")
    print(f"{'case':<40}{'median s':>10}{'CPU s':>8}{'docs/s':>8}{'peak MB':>10}")
    for max_tokens in (128, 256):
        encoder = embedding.MiniLM(max_tokens)
        encoder.encode(sample[:8])  # warm-up
        cpu, started = time.process_time(), time.perf_counter()
        encoder.encode(sample)
        seconds, cpu_s = time.perf_counter() - started, time.process_time() - cpu
        print(f"{f'encode, max {max_tokens} tokens (one run)':<40}{seconds:>10.3f}{cpu_s:>8.2f}"
              f"{len(sample) / seconds:>8.1f}{'':>10}")
    encoder = embedding.MiniLM()
    cpu = time.process_time()
    rerank_s, rerank_mb = timed(lambda: rerank(sample, [*ranked], encoder, DEFAULT_TOPICS, CANDIDATES))
    cpu_s = (time.process_time() - cpu) / 4  # three timed runs and one traced
    print(f"{f'rerank() of {len(sample)} candidates':<40}{rerank_s:>10.3f}{cpu_s:>8.2f}"
          f"{len(sample) / rerank_s:>8.1f}{rerank_mb:>10.1f}")
    per_100 = rerank_s * 100 / len(sample)
    print(f"re-rank per 100 candidates = {per_100:.2f} s, {rerank_mb:.0f} MB peak (+{loaded:.0f} MB of weights);"
          f" ratio to rank() of all {COUNT} abstracts = {per_100 / rank_seconds:.2f}")


if __name__ == "__main__":
    run_benchmark(main)

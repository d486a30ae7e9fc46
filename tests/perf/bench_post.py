"""Posting throughput: ``Blackboard.post_many`` / ``post`` against raw pipelined XADD on the same private server.

Run: ``python tests/perf/bench_post.py`` (or both benchmarks: ``python -m tests.perf``). Prints entries/s, the
ratio post_many/raw (target >= 0.5) and exits 0; it exits 1 only when a sanity check on what was stored fails.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

if not __package__:  # run as a script: make `tests.perf` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import redis  # noqa: E402

from blackboard.entries import Finding, encode_entry  # noqa: E402
from blackboard.keys import Keys  # noqa: E402
from blackboard.store import Blackboard  # noqa: E402
from tests.perf._redis import median, private_redis, run_benchmark, sigterm_as_exit  # noqa: E402

N_BATCH = 20_000
N_SINGLE = 2_000
BATCH = 500
REPETITIONS = 3
TARGET_RATIO = 0.5
CYCLE_ID = "2026-W01"
START = datetime(2026, 1, 4, 3, 0, tzinfo=UTC)


@dataclass
class Samples:
    post_many: list[float]
    post_many_duplicates: list[float]
    raw_xadd: list[float]
    post_single: list[float]
    xadd_single: list[float]
    prep_only: list[float]


def make_entries(n: int) -> list[Finding]:
    return [
        Finding(cycle_id=CYCLE_ID, agent="research", created_at=START + timedelta(seconds=i), source="arxiv",
                source_id=f"2611.{i:05d}", title=f"Sparse mixture routing for small language models, part {i}",
                url=f"https://arxiv.org/abs/2611.{i:05d}")
        for i in range(n)
    ]


def raw_fields(entries: Sequence[Finding]) -> list[dict[str, str]]:
    """The same fields the post script stores, encoded up front (the baseline does no client-side work)."""
    return [{"id": e.id, "kind": e.kind, "cycle": e.cycle_id, "body": encode_entry(e)[1]} for e in entries]


def timed(action: Callable[[], object]) -> float:
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def raw_xadd_pipelined(client: redis.Redis, stream: str, fields: Sequence[dict[str, str]], batch: int) -> None:
    pipe = client.pipeline(transaction=False)
    for i, item in enumerate(fields, 1):
        pipe.xadd(stream, item)  # type: ignore[arg-type]
        if i % batch == 0:
            pipe.execute()
    pipe.execute()


def xadd_single(client: redis.Redis, stream: str, fields: Sequence[dict[str, str]]) -> None:
    for item in fields:
        client.xadd(stream, item)  # type: ignore[arg-type]


def post_single(board: Blackboard, entries: Sequence[Finding]) -> None:
    for entry in entries:
        board.post(entry)


class SanityError(AssertionError):
    pass


def check(condition: bool, what: str) -> None:
    if not condition:
        raise SanityError(what)


def one_repetition(client: redis.Redis, board: Blackboard, stream: str, entries: list[Finding],
                   fields: list[dict[str, str]], samples: Samples) -> None:
    client.flushdb()
    started = time.perf_counter()
    created = board.post_many(entries, batch=BATCH)
    samples.post_many.append(time.perf_counter() - started)
    check(len(created) == len(entries) and all(p.created for p in created), "post_many: not every entry created")
    check(board.count("finding") == len(entries), "post_many: stream length != N")

    started = time.perf_counter()
    again = board.post_many(entries, batch=BATCH)
    samples.post_many_duplicates.append(time.perf_counter() - started)
    check(not any(p.created for p in again), "post_many duplicates: some entry stored twice")
    check([p.stream_id for p in again] == [p.stream_id for p in created], "duplicates: stream ids differ")
    check(board.count("finding") == len(entries), "post_many duplicates: stream length changed")

    client.flushdb()
    samples.raw_xadd.append(timed(lambda: raw_xadd_pipelined(client, stream, fields, BATCH)))
    check(int(client.xlen(stream)) == len(fields), "raw XADD: stream length != N")

    single_entries, single_fields = entries[:N_SINGLE], fields[:N_SINGLE]
    client.flushdb()
    samples.post_single.append(timed(lambda: post_single(board, single_entries)))
    check(board.count("finding") == N_SINGLE, "post(): stream length != N_SINGLE")
    client.flushdb()
    samples.xadd_single.append(timed(lambda: xadd_single(client, stream, single_fields)))
    check(int(client.xlen(stream)) == N_SINGLE, "single XADD: stream length != N_SINGLE")

    # Diagnostic: the client-side share of post_many (one serialisation and fingerprint per entry; no Redis).
    started = time.perf_counter()
    for entry in entries:
        encode_entry(entry)
    samples.prep_only.append(time.perf_counter() - started)


def rate(n: int, seconds: float) -> float:
    return n / seconds if seconds > 0 else float("inf")


def main() -> int:
    sigterm_as_exit()
    print(f"== posting throughput: N={N_BATCH} (batch {BATCH}), single N={N_SINGLE}, "
          f"median of {REPETITIONS} ==", flush=True)
    entries = make_entries(N_BATCH)
    fields = raw_fields(entries)
    body_bytes = sum(len(f["body"]) for f in fields) / len(fields)
    samples = Samples([], [], [], [], [], [])
    with private_redis() as server:
        client = server.client(decode_responses=True)
        try:
            print(f"private redis-server {server.url} ({client.info('server')['redis_version']}); "
                  f"mean body {body_bytes:.0f} bytes", flush=True)
            keys = Keys("perf:")
            board = Blackboard(client, keys)
            stream = keys.stream("finding")
            # Warm-up (script load, pydantic serializers, connection pool), then start from an empty db.
            board.post_many(entries[:BATCH], batch=BATCH)
            raw_xadd_pipelined(client, stream + ":warm", fields[:BATCH], BATCH)
            client.flushdb()
            for rep in range(REPETITIONS):
                one_repetition(client, board, stream, entries, fields, samples)
                print(f"  rep {rep + 1}: post_many {samples.post_many[-1]:.3f}s, "
                      f"duplicates {samples.post_many_duplicates[-1]:.3f}s, raw {samples.raw_xadd[-1]:.3f}s, "
                      f"post() {samples.post_single[-1]:.3f}s, xadd {samples.xadd_single[-1]:.3f}s", flush=True)
        except SanityError as exc:
            print(f"SANITY CHECK FAILED: {exc}", flush=True)
            return 1
        finally:
            client.close()

    pm, dup, raw = median(samples.post_many), median(samples.post_many_duplicates), median(samples.raw_xadd)
    single, xadd = median(samples.post_single), median(samples.xadd_single)
    prep = median(samples.prep_only)
    rows = [
        ("post_many (new entries)", N_BATCH, pm),
        ("post_many (all duplicates)", N_BATCH, dup),
        ("raw pipelined XADD (baseline)", N_BATCH, raw),
        ("post() one at a time", N_SINGLE, single),
        ("XADD one at a time (baseline)", N_SINGLE, xadd),
    ]
    print(f"{'case':<32}{'N':>8}{'median s':>11}{'entries/s':>12}")
    for name, n, seconds in rows:
        print(f"{name:<32}{n:>8}{seconds:>11.3f}{rate(n, seconds):>12,.0f}")
    ratio = rate(N_BATCH, pm) / rate(N_BATCH, raw)
    print(f"ratio post_many/raw XADD            = {ratio:.2f}  "
          f"(target >= {TARGET_RATIO}: {'MEETS' if ratio >= TARGET_RATIO else 'MISSES'})")
    print(f"ratio post_many duplicates/raw XADD = {rate(N_BATCH, dup) / rate(N_BATCH, raw):.2f}")
    print(f"ratio post()/single XADD            = {rate(N_SINGLE, single) / rate(N_SINGLE, xadd):.2f}")
    print(f"diagnostic: client-side serialisation alone (encode_entry x {N_BATCH}, no Redis) = {prep:.3f}s "
          f"({prep / pm:.0%} of post_many)")
    return 0


if __name__ == "__main__":
    run_benchmark(main)

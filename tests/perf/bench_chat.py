"""600 chat completions against a loopback server with 200 ms latency and a concurrency limit of 32.

Run: ``python tests/perf/bench_chat.py`` (or every benchmark: ``python -m tests.perf``). Our client (per-endpoint
AIMD limiter, retries, deadline) at concurrency 32 against the ideal, requests x latency / concurrency, and against
a bare httpx loop with an ``asyncio.Semaphore(32)`` in the same run. Then the whole case path (ask, score, record)
over the starter suite's non-code cases, for information. Aim: wall time <= 1.15x the ideal.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import sys
import time
from multiprocessing.connection import Connection
from multiprocessing.synchronize import Event
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402

from agents.benchmark import Target, run_cases  # noqa: E402
from agents.sources.chat import ChatClient, Endpoint  # noqa: E402
from agents.suite import starter_suite  # noqa: E402
from workers.model_fake import FakeModels, Profile  # noqa: E402
from workers.sandbox import LoopbackServer  # noqa: E402

REQUESTS, LATENCY, CONCURRENCY = 600, 0.2, 32
MESSAGES = [{"role": "user", "content": "What is 2 + 2?"}]


async def ours(url: str) -> float:
    async with ChatClient(concurrency=CONCURRENCY, attempts=3, timeout=30) as client:
        endpoint = Endpoint("bench", url + "/v1")
        started = time.perf_counter()
        replies = await asyncio.gather(*(client.complete(endpoint, "m", MESSAGES) for _ in range(REQUESTS)))
        elapsed = time.perf_counter() - started
    failed = [r for r in replies if not r.ok]
    if failed:
        raise SystemExit(f"{len(failed)} requests failed: {failed[0].error_type} {failed[0].error}")
    return elapsed


async def bare(url: str) -> float:
    slots = asyncio.Semaphore(CONCURRENCY)
    async with httpx.AsyncClient(timeout=30, limits=httpx.Limits(max_connections=None)) as client:
        async def one() -> None:
            async with slots:
                response = await client.post(url + "/v1/chat/completions", json={"model": "m", "messages": MESSAGES})
                response.raise_for_status()
        started = time.perf_counter()
        await asyncio.gather(*(one() for _ in range(REQUESTS)))
        return time.perf_counter() - started


async def case_path(url: str) -> tuple[float, int]:
    cases = [c for c in starter_suite().cases if c.scorer != "code"]
    batch = (cases * (REQUESTS // len(cases) + 1))[:REQUESTS]
    batch = [c.model_copy(update={"id": f"{c.id}-{n}"}) for n, c in enumerate(batch)]
    records: list[object] = []
    async with ChatClient(concurrency=CONCURRENCY) as client:
        started = time.perf_counter()
        await run_cases(client, Target("m", Endpoint("bench", url + "/v1")), batch,
                        lambda model, case_id, record: records.append(record))
        return time.perf_counter() - started, len(records)


def serve(port_out: Connection, stop: Event) -> None:
    """The model server, in a process of its own (so it does not share the client's interpreter lock)."""
    models = FakeModels({"*": Profile(latency=LATENCY)}, concurrency=CONCURRENCY)
    with LoopbackServer({}, models.handle, keep_alive=True) as server:
        port_out.send(server.url)
        stop.wait()


def main() -> int:
    ideal = REQUESTS * LATENCY / CONCURRENCY
    context = multiprocessing.get_context("spawn")
    receive, send = context.Pipe(duplex=False)
    stop = context.Event()
    process = context.Process(target=serve, args=(send, stop), daemon=True)
    process.start()
    try:
        url = receive.recv()
        asyncio.run(bare(url))  # warm-up
        baseline = sorted(asyncio.run(bare(url)) for _ in range(3))[1]
        mine = sorted(asyncio.run(ours(url)) for _ in range(3))[1]
        full, count = asyncio.run(case_path(url))
    finally:
        stop.set()
        process.join(timeout=10)
    print(f"{REQUESTS} requests, {LATENCY * 1000:.0f} ms each, server limit {CONCURRENCY}: ideal {ideal:.2f} s")
    print(f"  bare httpx + semaphore : {baseline:.2f} s  ({baseline / ideal:.3f}x ideal)")
    print(f"  ChatClient             : {mine:.2f} s  ({mine / ideal:.3f}x ideal, {mine / baseline:.3f}x bare)")
    print(f"  ask + score + record   : {full:.2f} s for {count} cases ({full / ideal:.3f}x ideal)")
    print(f"  target <= 1.15x ideal  : {'met' if mine / ideal <= 1.15 else 'NOT met'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

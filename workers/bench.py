"""Benchmark runs: plan a run's chunks, work them here and on any other benchmark worker, measure, post.

A run id is deterministic (``<cycle>:pre``, ``<cycle>:verify``), so a step that is retried after a crash finds its
run, keeps every case already answered and asks only the rest.
"""

from __future__ import annotations

import asyncio
import logging
import math
import os
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from agents.benchmark import Judge, Options, Target, run_cases
from agents.measures import ModelMetrics
from agents.scorers import SCORER_VERSION
from agents.sources.chat import ChatClient, Endpoint
from agents.suite import Case, Suite, starter_suite
from blackboard.entries import Measurement, Regression
from blackboard.runs import BenchRuns, record_field
from workers.runtime import Runtime
from workers.settings import Settings

logger = logging.getLogger(__name__)
METRICS = ("score", "pass_rate", "latency_mean", "latency_p95", "error_rate", "unparsed_rate")


@dataclass
class BenchOutcome:
    run_id: str
    phase: str
    metrics: dict[str, ModelMetrics] = field(default_factory=dict)
    regressions: list[Regression] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def invalid(self) -> bool:
        return any(not m.valid for m in self.metrics.values())

    def to_json(self) -> dict[str, Any]:
        return {"run_id": self.run_id, "phase": self.phase,
                "models": {model: m.to_json() for model, m in self.metrics.items()},
                "regressions": [{"model": r.model, "category": r.category, "severity": r.severity.value,
                                 "drop": r.drop, "p_value": r.p_value, "metric": r.metric, "phase": r.phase,
                                 "confirmed": r.details.get("confirmed", False)} for r in self.regressions],
                "invalid": self.invalid, "notes": self.notes}


def load_suite(settings: Settings, path: Path | None = None, fmt: str | None = None,
               categories: list[str] | None = None) -> Suite:
    """The suite to run: a file (in any supported format) or the shipped starter suite, limited to the
    configured categories."""
    from agents.formats import load

    path = path or settings.bench_suite
    suite = load(path, fmt or settings.bench_format) if path else starter_suite()  # type: ignore[arg-type]
    chosen = categories if categories is not None else settings.bench_categories
    return suite.only(chosen) if chosen else suite


def endpoint_for(settings: Settings, model: str) -> Endpoint:
    """A model's own endpoint from IMPROVE_BENCH_ENDPOINTS, else BENCH_BASE_URL, else OpenRouter."""
    configured = settings.bench_endpoints.get(model)
    if configured is not None:
        key = os.environ.get(configured.api_key_env) if configured.api_key_env else None
        return Endpoint(urlsplit(configured.base_url).netloc or "endpoint", configured.base_url, key,
                        configured.served_model)
    if settings.bench_base_url:
        key = settings.bench_api_key.get_secret_value() if settings.bench_api_key else None
        return Endpoint(urlsplit(settings.bench_base_url).netloc or "bench", settings.bench_base_url, key)
    key = settings.openrouter_api_key.get_secret_value() if settings.openrouter_api_key else None
    return Endpoint("openrouter", settings.openrouter_base_url, key)


def judge_for(settings: Settings) -> Judge | None:
    model = settings.bench_judge_model
    return Judge(Target(model, endpoint_for(settings, model))) if model else None


def baseline_key(suite: Suite, judge: Judge | None) -> str:
    """Runs compare only under the same suite content, scorer version and judge."""
    return f"{suite.name}-{suite.fingerprint}-s{SCORER_VERSION}-{judge.key if judge else 'rubric'}"


def routed_models(runtime: Runtime) -> list[str]:
    """IMPROVE_BENCH_MODELS, else what the product routes to (the live routing table's primaries and fallbacks),
    and the candidates pending routing proposals would bring in (a promotion needs our own benchmark)."""
    from workers.configuration import candidates, routed_now

    found = list(runtime.settings.bench_models) or routed_now(runtime)
    return list(dict.fromkeys(m for m in [*found, *candidates(runtime)] if m))


def plan(runtime: Runtime, run_id: str, cycle_id: str, phase: str, models: list[str], suite: Suite,
         suite_path: Path | None, suite_format: str | None, cases: dict[str, list[str]] | None = None) -> bool:
    """Describe a run and queue its chunks of work (once: a planned run keeps its plan)."""
    judge = judge_for(runtime.settings)
    meta = {"cycle_id": cycle_id, "phase": phase, "models": models, "suite": suite.name,
            "suite_version": suite.version, "suite_fingerprint": suite.fingerprint,
            "suite_path": str(suite_path) if suite_path else None, "suite_format": suite_format,
            "categories": suite.categories,
            "scorer_version": SCORER_VERSION, "judge": judge.key if judge else None,
            "baseline_key": baseline_key(suite, judge), "created_at": runtime.clock.now().isoformat()}
    size, chunks = runtime.settings.bench_chunk, []
    for model in models:
        ids = (cases or {}).get(model) or [case.id for case in suite.cases]
        chunks += [{"model": model, "cases": ids[i:i + size]} for i in range(0, len(ids), size)]
    return runs_of(runtime).plan(run_id, meta, chunks)


def runs_of(runtime: Runtime) -> BenchRuns:
    return BenchRuns(runtime.connections.board, runtime.keys, runtime.settings.retention_days)


def _suite_of(runtime: Runtime, meta: dict[str, Any]) -> dict[str, Case]:
    path = Path(meta["suite_path"]) if meta.get("suite_path") else None
    suite = load_suite(runtime.settings, path, meta.get("suite_format"), meta.get("categories"))
    if suite.fingerprint != meta["suite_fingerprint"]:
        raise RuntimeError(f"the suite changed while run {meta.get('cycle_id')} was under way "
                           f"({meta['suite_fingerprint']} -> {suite.fingerprint}); start a new run")
    return {case.id: case for case in suite.cases}


def run_cases_of(runtime: Runtime, run_id: str) -> dict[str, Case]:
    """The cases a planned run asks, from its own description."""
    meta = runs_of(runtime).meta(run_id)
    if meta is None:
        raise LookupError(f"no benchmark run {run_id}")
    return _suite_of(runtime, meta)


def work(runtime: Runtime, run_id: str, cases: dict[str, Case] | None = None) -> int:
    """Claim and run chunks of a run until none is left to claim; returns how many this process finished."""
    cases = cases if cases is not None else run_cases_of(runtime, run_id)
    return asyncio.run(_work(runtime, runs_of(runtime), run_id, cases))


async def _work(runtime: Runtime, runs: BenchRuns, run_id: str, cases: dict[str, Case]) -> int:
    settings = runtime.settings
    lease_ms = int(settings.lease_seconds * 2000)
    parallel = max(1, math.ceil(settings.bench_concurrency * 1.5 / settings.bench_chunk))
    finished, done = runs.finished(run_id), 0
    options = Options(seed=settings.bench_seed, max_tokens=settings.bench_max_tokens)
    judge = judge_for(settings)
    active: dict[str, asyncio.Task[list[dict[str, Any]]]] = {}

    worker = f"{socket.gethostname()}:{os.getpid()}"

    def save(model: str, case_id: str, record: dict[str, Any]) -> None:
        runs.save(run_id, model, case_id, {**record, "worker": worker})

    async def heartbeat() -> None:
        while True:
            await asyncio.sleep(lease_ms / 3000)
            for member in list(active):
                runs.extend(run_id, member, lease_ms)

    async with ChatClient(concurrency=settings.bench_concurrency, attempts=settings.bench_attempts,
                          timeout=settings.bench_timeout, deadline=settings.bench_deadline,
                          max_wait=settings.http_max_wait, secrets=settings.secrets()) as client:
        beating = asyncio.create_task(heartbeat())
        try:
            while True:
                while len(active) < parallel and (claimed := runs.claim(run_id, lease_ms)) is not None:
                    member, chunk = claimed
                    model = str(chunk["model"])
                    todo = [cases[c] for c in chunk["cases"] if c in cases and record_field(model, c) not in finished]
                    target = Target(model, endpoint_for(settings, model))
                    active[member] = asyncio.create_task(run_cases(client, target, todo, save, judge=judge,
                                                                   options=options))
                if not active:
                    return done
                ready, _ = await asyncio.wait(active.values(), return_when=asyncio.FIRST_COMPLETED)
                for member, task in list(active.items()):
                    if task in ready:
                        task.result()
                        runs.finish_chunk(run_id, member)
                        del active[member]
                        done += 1
        finally:
            beating.cancel()
            for task in active.values():
                task.cancel()


def complete(runtime: Runtime, run_id: str, poll: float = 0.2) -> int:
    """Work the run, then wait for chunks other workers hold (taking over any whose worker died)."""
    runs, cases = runs_of(runtime), run_cases_of(runtime, run_id)  # the suite is read once, not every poll
    done = work(runtime, run_id, cases)
    give_up = time.monotonic() + runtime.settings.bench_deadline + runtime.settings.lease_seconds * 4
    while runs.outstanding(run_id) != (0, 0):
        if time.monotonic() > give_up:
            raise TimeoutError(f"benchmark run {run_id} still has unfinished chunks after its deadline")
        time.sleep(poll)
        done += work(runtime, run_id, cases)
    return done


def post_measurements(runtime: Runtime, cycle_id: str, run_id: str, meta: dict[str, Any],
                      metrics: dict[str, ModelMetrics]) -> None:
    now, entries = runtime.clock.now(), []
    for model, m in metrics.items():
        for category, values in [("overall", m.overall), *m.categories.items()]:
            details: dict[str, Any] = {
                "phase": meta["phase"], "suite": meta["suite"], "suite_version": meta["suite_version"],
                "suite_fingerprint": meta["suite_fingerprint"], "scorer_version": meta["scorer_version"],
                "judge": meta["judge"], "ci_low": values["ci_low"], "ci_high": values["ci_high"],
                "errors": values["errors"], "valid": m.valid}
            for metric in METRICS:
                if values.get(metric) is not None:
                    entries.append(Measurement(cycle_id=cycle_id, agent="benchmark", created_at=now, run_id=run_id,
                                               model=model, category=category, metric=metric,
                                               value=float(values[metric]), samples=values["scored"],
                                               details=details))
    runtime.board.post_many(entries)


Helpers = Callable[[str], None]  # enqueues shard jobs for a run on other benchmark workers

"""Catalog ingest and diff at scale, against merely parsing the same JSON bytes in the same run.

Run: ``python tests/perf/bench_catalog.py`` (or every benchmark: ``python -m tests.perf``). Two datasets:

- Hugging Face: two 100,000-model listings (``workers.hf_fake.hub_models``, weeks 1 and 2, 8 tasks x 12,500), each
  serialised to JSON bytes before anything is timed. Ours is what ``workers.catalog_sync.hub_sync`` does with them,
  minus the network and Redis: per task, ``record`` on every listing item as ``HuggingFace.top`` does (the
  ``min_downloads`` filter at 0: all 100,000 kept), the snapshot indexed by id with its ``tasks``, and the week's
  newcomers (one per task) as ``discovered`` ``CatalogChange`` entries.
- OpenRouter: two full daily snapshots from ``/work/shared`` when present (else the fake catalog of weeks 1 and 3,
  each model replicated 10x). Ours is ``validate`` both, ``index`` both, ``diff``.

Baseline: ``json.loads`` of the same two byte strings. Time: median of 3 in this process. Peak memory: the
``tracemalloc`` peak, in separate runs (tracing slows everything); median of 3 for OpenRouter, one run per side for
Hugging Face (~25 s traced; the traced peak is the same allocation sequence every run). Both ratios ours/baseline are
printed against the aim of <= 3x. Exits 0; it exits 1 only when a sanity check on the ingested catalogs or the diff
fails.
"""

from __future__ import annotations

import gc
import json
import os
import sys
import time
import tracemalloc
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from itertools import groupby
from pathlib import Path
from typing import Any

# Nothing here reaches a network; should anything import huggingface_hub (it reads both at import), keep it local.
os.environ["HF_HUB_DISABLE_TELEMETRY"] = "1"
os.environ["HF_ENDPOINT"] = "http://127.0.0.1:9"

if not __package__:  # run as a script: make `tests.perf` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from agents.catalog import CatalogPolicy, diff, index, validate  # noqa: E402
from agents.sources.huggingface import record  # noqa: E402
from blackboard.entries import CatalogChange  # noqa: E402
from tests.perf._redis import median, run_benchmark, sigterm_as_exit  # noqa: E402
from workers.catalog_sync import absorb  # noqa: E402
from workers.hf_fake import hub_models  # noqa: E402
from workers.openrouter_fake import catalog  # noqa: E402

# Distinct first words: the fake names a model after its task's first word, so these never collide.
HF_TASKS = ("text-generation", "conversational", "question-answering", "summarization", "translation", "fill-mask",
            "feature-extraction", "token-classification")
HF_PER_TASK = 12_500
HF_MIN_DOWNLOADS = 0  # the fake's long tail falls under the default 1000: keep all 100,000
REPETITIONS = 3
HF_MEMORY_REPETITIONS = 1  # a traced HF run takes ~25 s; its peak is the same allocation sequence every time
OR_DIR = Path("/work/shared/data/openrouter/skissue_daily")
OR_FILES = ("openrouter_models_2026-04-24.json", "openrouter_models_2026-05-01.json")
OR_COPIES = 10
AIM = 3.0
CYCLES = ("2026-W45", "2026-W46")
NOWS = (datetime(2026, 11, 8, 3, 0, tzinfo=UTC), datetime(2026, 11, 15, 3, 0, tzinfo=UTC))
WARM_UP_ITEMS = 500


class SanityError(AssertionError):
    pass


def check(condition: bool, what: str) -> None:
    if not condition:
        raise SanityError(what)


@dataclass
class Outcome:
    before: int
    after: int
    changes: list[CatalogChange]


@dataclass
class Dataset:
    name: str
    previous: bytes
    current: bytes
    ours: Callable[[bytes, bytes], Outcome]
    check: Callable[[Outcome], None]
    warm_up: Callable[[], object]
    memory_repetitions: int


@dataclass
class Result:
    parse_seconds: float
    ours_seconds: float
    parse_peak: float
    ours_peak: float
    before: int
    after: int
    changes: dict[str, int]


# -- the pipelines ------------------------------------------------------------------------------------------------

def parse_only(previous: bytes, current: bytes) -> tuple[Any, Any]:
    """The baseline: both catalogs parsed, nothing else."""
    return json.loads(previous), json.loads(current)


def hub_top(items: Iterable[Any]) -> list[dict[str, Any]]:
    """``HuggingFace.top`` on one task's listing, once its pages are parsed."""
    found = [record(item) for item in items if isinstance(item, dict) and "id" in item]
    return [model for model in found if (model["downloads"] or 0) >= HF_MIN_DOWNLOADS]


def hub_snapshot(listing: bytes, previous: dict[str, dict[str, Any]] | None, cycle_id: str,
                 now: datetime) -> tuple[dict[str, dict[str, Any]], list[CatalogChange]]:
    """One ``hub_sync`` over a listing, task by task: the snapshot by id, and its newcomers as ``discovered``."""
    known = dict(previous) if previous else {}
    changes: list[CatalogChange] = []
    for task, items in groupby(json.loads(listing), key=lambda item: str(item["pipeline_tag"])):
        changes += absorb(known, task, hub_top(items), previous is None, cycle_id, now)
    return known, changes


def hub_ingest_and_diff(previous: bytes, current: bytes) -> Outcome:
    before, _ = hub_snapshot(previous, None, CYCLES[0], NOWS[0])
    after, changes = hub_snapshot(current, before, CYCLES[1], NOWS[1])
    return Outcome(len(before), len(after), changes)


def openrouter_ingest_and_diff(previous: bytes, current: bytes) -> Outcome:
    policy = CatalogPolicy()
    old, new = json.loads(previous), json.loads(current)
    problems = validate(old, None, policy) + validate(new, len(old), policy)
    check(not problems, f"openrouter: catalog rejected: {'; '.join(problems)}")
    before, after = index(old), index(new)
    found = diff(before, after, {}, CYCLES[1], NOWS[1], policy)
    return Outcome(len(before), len(after), found.changes)


# -- the data -----------------------------------------------------------------------------------------------------

def hub_listing(week: int) -> bytes:
    return json.dumps([item for task in HF_TASKS for item in hub_models(task, HF_PER_TASK, week)]).encode()


def hub_warm_up(previous: bytes) -> Callable[[], object]:
    """Imports and pydantic's validators warm, on a small slice of the same data."""
    items = json.loads(previous)
    head, tail = json.dumps(items[:WARM_UP_ITEMS]).encode(), json.dumps(items[:WARM_UP_ITEMS + 1]).encode()
    return lambda: hub_ingest_and_diff(head, tail)


def check_hub(outcome: Outcome) -> None:
    total = len(HF_TASKS) * HF_PER_TASK
    check(outcome.before == total, f"huggingface: {outcome.before} models in week 1, expected {total}")
    check(outcome.after == total + len(HF_TASKS), f"huggingface: {outcome.after} models in week 2")
    check(len(outcome.changes) == len(HF_TASKS), f"huggingface: {len(outcome.changes)} discovered, "
          f"expected {len(HF_TASKS)} (one newcomer per task)")
    check(all(c.change == "discovered" and "-new-model-" in c.model_id for c in outcome.changes),
          "huggingface: a discovered entry is not a newcomer")


def openrouter_snapshots() -> tuple[str, bytes, bytes]:
    paths = [OR_DIR / name for name in OR_FILES]
    if all(path.is_file() for path in paths):
        return f"{OR_FILES[0]} -> {OR_FILES[1]}", paths[0].read_bytes(), paths[1].read_bytes()

    def scaled(week: int) -> bytes:
        return json.dumps([{**model, "id": f"{model['id']}-copy{k}"}
                           for model in catalog(week) for k in range(OR_COPIES)]).encode()

    return f"fake catalog weeks 1 -> 3, each model x{OR_COPIES} ({OR_DIR} absent)", scaled(1), scaled(3)


def check_openrouter(previous: bytes, current: bytes) -> Callable[[Outcome], None]:
    sizes = len(json.loads(previous)), len(json.loads(current))

    def checker(outcome: Outcome) -> None:
        check((outcome.before, outcome.after) == sizes, f"openrouter: indexed {outcome.before}/{outcome.after} "
              f"models, the snapshots hold {sizes[0]}/{sizes[1]}")
        kinds = {c.change for c in outcome.changes}
        check(bool(kinds & {"added", "removed"}), f"openrouter: no addition or removal found ({sorted(kinds)})")

    return checker


# -- measuring ----------------------------------------------------------------------------------------------------

def timed(action: Callable[[], object]) -> tuple[float, object]:
    gc.collect()
    started = time.perf_counter()
    result = action()
    return time.perf_counter() - started, result


def traced_peak(action: Callable[[], object]) -> float:
    """Peak bytes traced while the action ran (what it keeps plus its transient garbage), in MB."""
    gc.collect()
    tracemalloc.start()
    try:
        result = action()
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    del result
    return peak / 1e6


def measure(dataset: Dataset) -> Result:
    dataset.warm_up()
    parse_times: list[float] = []
    ours_times: list[float] = []
    summary: tuple[int, int, dict[str, int]] = (0, 0, {})
    for rep in range(REPETITIONS):
        parse_times.append(timed(lambda: parse_only(dataset.previous, dataset.current))[0])
        seconds, outcome = timed(lambda: dataset.ours(dataset.previous, dataset.current))
        ours_times.append(seconds)
        assert isinstance(outcome, Outcome)
        dataset.check(outcome)
        kinds: dict[str, int] = {}
        for change in outcome.changes:
            kinds[change.change] = kinds.get(change.change, 0) + 1
        summary = (outcome.before, outcome.after, dict(sorted(kinds.items())))
        del outcome  # no measured run keeps a previous run's objects alive
        print(f"  {dataset.name} rep {rep + 1}: parse {parse_times[-1]:.3f}s, ours {ours_times[-1]:.3f}s",
              flush=True)
    parse_peaks: list[float] = []
    ours_peaks: list[float] = []
    for rep in range(dataset.memory_repetitions):
        parse_peaks.append(traced_peak(lambda: parse_only(dataset.previous, dataset.current)))
        ours_peaks.append(traced_peak(lambda: dataset.ours(dataset.previous, dataset.current)))
        print(f"  {dataset.name} traced rep {rep + 1}: parse peak {parse_peaks[-1]:.1f} MB, "
              f"ours peak {ours_peaks[-1]:.1f} MB", flush=True)
    return Result(median(parse_times), median(ours_times), median(parse_peaks), median(ours_peaks), *summary)


def verdict(ratio: float) -> str:
    return "MEETS" if ratio <= AIM else "MISSES"


def report(dataset: Dataset, result: Result) -> None:
    mb = (len(dataset.previous) + len(dataset.current)) / 1e6
    print(f"{dataset.name}: {result.before} -> {result.after} models, {mb:.1f} MB of JSON, "
          f"{sum(result.changes.values())} changes {result.changes}")
    print(f"  time: median of {REPETITIONS}; memory: tracemalloc peak, median of {dataset.memory_repetitions}")
    print(f"  {'case':<26}{'median s':>10}{'peak MB':>10}")
    print(f"  {'json.loads (baseline)':<26}{result.parse_seconds:>10.3f}{result.parse_peak:>10.1f}")
    print(f"  {'ingest + diff (ours)':<26}{result.ours_seconds:>10.3f}{result.ours_peak:>10.1f}")
    time_ratio = result.ours_seconds / result.parse_seconds
    memory_ratio = result.ours_peak / result.parse_peak
    print(f"  ratio ours/parse time   = {time_ratio:.2f}x  (aim <= {AIM:g}x: {verdict(time_ratio)})")
    print(f"  ratio ours/parse memory = {memory_ratio:.2f}x  (aim <= {AIM:g}x: {verdict(memory_ratio)})")


def main() -> int:
    sigterm_as_exit()
    started = time.perf_counter()
    print(f"== catalog ingest + diff: {len(HF_TASKS) * HF_PER_TASK} HF models x 2 listings, OpenRouter snapshots "
          f"x 2; ratios against json.loads of the same bytes ==", flush=True)
    week1 = hub_listing(1)
    hub = Dataset("huggingface", week1, hub_listing(2), hub_ingest_and_diff, check_hub, hub_warm_up(week1),
                  HF_MEMORY_REPETITIONS)
    label, old, new = openrouter_snapshots()
    router = Dataset("openrouter", old, new, openrouter_ingest_and_diff, check_openrouter(old, new),
                     lambda: openrouter_ingest_and_diff(old, new), REPETITIONS)
    print(f"data generated and serialised in {time.perf_counter() - started:.1f}s (not measured); "
          f"openrouter: {label}", flush=True)
    results = []
    try:
        for dataset in (router, hub):
            results.append((dataset, measure(dataset)))
    except SanityError as exc:
        print(f"SANITY CHECK FAILED: {exc}", flush=True)
        return 1
    for dataset, result in results:
        report(dataset, result)
    print(f"total wall {time.perf_counter() - started:.1f}s")
    return 0


if __name__ == "__main__":
    run_benchmark(main)

"""Benchmark runs end to end on fakeredis against the loopback model server: records, metrics, resume, shards,
invalid runs, regressions against the rolling baseline and the verification of a change."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import fakeredis
import pytest

from blackboard.entries import Measurement, Regression
from tests.conftest import make_settings
from workers.bench import complete, load_suite, plan, runs_of, work
from workers.bench_run import run_benchmark
from workers.connection import Connections
from workers.model_fake import FakeModels, Profile
from workers.runtime import Runtime
from workers.sandbox import LoopbackServer, Response

STEADY, SLIPPING = "lab/steady-1", "lab/slipping-1"
CATEGORIES = ["math", "factual", "reasoning"]
WEEK_ONE = datetime(2026, 11, 1, 3, tzinfo=UTC)


@pytest.fixture
def models() -> Iterator[tuple[FakeModels, str]]:
    # the steady model answers like temperature 0 (no flaky cases), so it can never raise a false alarm here; the
    # false-alarm rate under flaky answers is measured by simulation in test_regression_simulation.py
    fake = FakeModels({STEADY: Profile(default_accuracy=0.85, latency=0.0, flaky=0.0),
                       SLIPPING: Profile(default_accuracy=0.85, latency=0.0, drops={4: 0.7})})
    with LoopbackServer({}, fake.handle) as server:
        yield fake, server.url + "/v1"


@pytest.fixture
def server() -> fakeredis.FakeServer:
    return fakeredis.FakeServer()


def runtime_at(server: fakeredis.FakeServer, tmp_path: Path, url: str, week: int = 1, **overrides: object) -> Runtime:
    connections = Connections(rq=fakeredis.FakeRedis(server=server),
                              board=fakeredis.FakeRedis(server=server, decode_responses=True), description="fake")
    values: dict[str, object] = {"bench_categories": CATEGORIES, "bench_attempts": 1, **overrides}
    settings = make_settings(tmp_path, key_prefix="bench:", now=WEEK_ONE + timedelta(days=7 * (week - 1)),
                             bench_base_url=url, **values)
    return Runtime(settings, connections)


def test_a_run_records_every_case_and_posts_metrics(models: tuple[FakeModels, str], server: fakeredis.FakeServer,
                                                    tmp_path: Path) -> None:
    fake, url = models
    runtime = runtime_at(server, tmp_path, url)
    outcome = run_benchmark(runtime, "c1", "c1:pre", "pre", [STEADY, SLIPPING])
    cases = len(load_suite(runtime.settings).cases)
    assert fake.requests == 2 * cases and len(runs_of(runtime).records("c1:pre")) == 2 * cases
    data = outcome.to_json()
    assert set(data["models"]) == {STEADY, SLIPPING} and data["invalid"] is False
    steady = data["models"][STEADY]
    assert 0.6 < steady["overall"] < 1.0 and set(steady["categories"]) == set(CATEGORIES)
    assert steady["latency_p95"] is not None and steady["ci"][0] <= steady["overall"] <= steady["ci"][1]
    assert data["regressions"] == []
    measured = [e for e in runtime.board.read_cycle("c1") if isinstance(e, Measurement)]
    assert {(m.model, m.category) for m in measured if m.metric == "score"} == {
        (model, category) for model in (STEADY, SLIPPING) for category in [*CATEGORIES, "overall"]}
    assert all(m.details["phase"] == "pre" and m.details["valid"] for m in measured)


def test_a_rerun_of_the_same_run_asks_nothing_again(models: tuple[FakeModels, str], server: fakeredis.FakeServer,
                                                    tmp_path: Path) -> None:
    fake, url = models
    runtime = runtime_at(server, tmp_path, url)
    run_benchmark(runtime, "c1", "c1:pre", "pre", [STEADY])
    asked = fake.requests
    run_benchmark(runtime, "c1", "c1:pre", "pre", [STEADY])
    assert fake.requests == asked
    assert sum(isinstance(e, Measurement) for e in runtime.board.read_cycle("c1")) == len(
        [e for e in runtime.board.read_cycle("c1") if isinstance(e, Measurement)])


def test_a_crashed_run_resumes_skipping_finished_cases(models: tuple[FakeModels, str],
                                                       server: fakeredis.FakeServer, tmp_path: Path) -> None:
    fake, url = models
    runtime = runtime_at(server, tmp_path, url, bench_chunk=10)
    suite = load_suite(runtime.settings)
    plan(runtime, "c1:pre", "c1", "pre", [STEADY], suite, None, None)
    runs = runs_of(runtime)
    claimed = runs.claim("c1:pre", lease_ms=1)  # a worker took a chunk, answered 4 cases, then died
    assert claimed is not None
    for case_id in claimed[1]["cases"][:4]:
        runs.save("c1:pre", STEADY, case_id, {"case_id": case_id, "category": "math", "model": STEADY,
                                              "status": "scored", "score": 1.0, "passed": True})
    outcome = run_benchmark(runtime, "c1", "c1:pre", "pre", [STEADY])
    assert fake.requests == len(suite.cases) - 4
    assert outcome.metrics[STEADY].overall["cases"] == len(suite.cases)
    assert runs.outstanding("c1:pre") == (0, 0)


def test_two_workers_share_a_run_and_answer_each_case_once(models: tuple[FakeModels, str],
                                                           server: fakeredis.FakeServer, tmp_path: Path) -> None:
    fake, url = models
    fake.profiles["*"] = Profile(latency=0.01)
    runtime = runtime_at(server, tmp_path, url, bench_chunk=5, bench_concurrency=2)
    suite = load_suite(runtime.settings)
    plan(runtime, "c1:pre", "c1", "pre", [STEADY, SLIPPING], suite, None, None)
    done: list[int] = []
    threads = [threading.Thread(target=lambda: done.append(work(runtime_at(server, tmp_path, url, bench_chunk=5,
                                                                           bench_concurrency=2), "c1:pre")))
               for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(done) == 2 * -(-len(suite.cases) // 5) and min(done) > 0  # both took part
    assert fake.requests == 2 * len(suite.cases)
    assert complete(runtime, "c1:pre") == 0


def test_too_many_errors_make_the_run_invalid_not_a_regression(models: tuple[FakeModels, str],
                                                               server: fakeredis.FakeServer, tmp_path: Path) -> None:
    fake, url = models
    fake.faults = [Response.json({"error": {"message": "overloaded"}}, 503)] * 20
    runtime = runtime_at(server, tmp_path, url, bench_concurrency=1)
    outcome = run_benchmark(runtime, "c1", "c1:pre", "pre", [STEADY])
    metrics = outcome.metrics[STEADY]
    assert outcome.invalid and not metrics.valid and metrics.overall["errors"] == 20
    assert metrics.overall["scored"] == metrics.overall["cases"] - 20  # errors are not wrong answers
    assert outcome.regressions == [] and any("invalid" in note for note in outcome.notes)
    assert runs_of(runtime).history(STEADY, runs_of(runtime).meta("c1:pre")["baseline_key"], 8) == []  # type: ignore[index]


def test_a_quality_drop_after_three_weeks_is_a_regression_and_a_steady_model_is_not(
        models: tuple[FakeModels, str], server: fakeredis.FakeServer, tmp_path: Path) -> None:
    fake, url = models
    outcomes = []
    for week in range(1, 5):
        fake.week = week
        runtime = runtime_at(server, tmp_path, url, week)
        outcomes.append(run_benchmark(runtime, f"w{week}", f"w{week}:pre", "pre", [STEADY, SLIPPING]))
    assert all(not o.regressions for o in outcomes[:3])  # fewer than 3 baseline runs, then steady weeks
    last = outcomes[-1]
    found = {(r.model, r.category, r.metric): r for r in last.regressions}
    overall = found[(SLIPPING, "overall", "score")]
    assert overall.severity.value in ("alert", "critical") and overall.drop >= 0.15 and overall.p_value is not None
    assert overall.details["baseline_runs"] == ["w1:pre", "w2:pre", "w3:pre"]
    assert overall.details["mde"] is not None
    assert overall.details["cases"] == len(load_suite(runtime.settings).cases)
    assert not [r for r in last.regressions if r.model == STEADY and r.severity.value != "suspect"]
    posted = [e for e in runtime.board.read_cycle("w4") if isinstance(e, Regression)]
    assert {r.id for r in posted} == {r.id for r in last.regressions}


def test_verification_compares_the_new_route_with_the_model_it_replaced(models: tuple[FakeModels, str],
                                                                        server: fakeredis.FakeServer,
                                                                        tmp_path: Path) -> None:
    fake, url = models
    runtime = runtime_at(server, tmp_path, url)
    run_benchmark(runtime, "c1", "c1:pre", "pre", [STEADY, SLIPPING])
    fake.week = 4  # the change routed factual questions to a model that has just got much worse
    fake.profiles[SLIPPING] = Profile(default_accuracy=0.85, latency=0.0, drops={4: 0.4})
    change = {"category": "factual", "before": STEADY, "after": SLIPPING}
    outcome = run_benchmark(runtime, "c1", "c1:verify", "verify", [SLIPPING], categories=["factual"], pairs=[change])
    [regression] = outcome.regressions
    assert (regression.model, regression.category, regression.phase) == (SLIPPING, "factual", "verify")
    assert regression.severity.value in ("alert", "critical") and regression.drop > 0.05
    assert regression.details["baseline_runs"] == ["c1:pre"] and regression.details["before_model"] == STEADY
    assert {r["category"] for r in runs_of(runtime).records("c1:verify")} == {"factual"}
    fake.week = 1
    calm = run_benchmark(runtime, "c2", "c2:pre", "pre", [STEADY])
    assert calm.regressions == []
    same = {"category": "math", "before": STEADY, "after": STEADY}
    unchanged = run_benchmark(runtime, "c2", "c2:verify", "verify", [STEADY], categories=["math"], pairs=[same])
    assert [r for r in unchanged.regressions if r.severity.value != "suspect"] == []


def test_a_configured_judge_grades_creative_writing_and_keys_the_baseline(
        models: tuple[FakeModels, str], server: fakeredis.FakeServer, tmp_path: Path) -> None:
    fake, url = models
    runtime = runtime_at(server, tmp_path, url, bench_categories=["creative-writing"], bench_judge_model="lab/judge")
    outcome = run_benchmark(runtime, "c1", "c1:pre", "pre", [STEADY])
    found = runs_of(runtime).records("c1:pre")
    assert found and all(r["judge"] == f"lab/judge@{url.split('//')[1].split('/')[0]}" for r in found)
    assert all(abs(r["score"] - 7 / 9) < 1e-9 for r in found)  # the sandbox judge answers GRADE: 8
    assert "lab/judge" in runs_of(runtime).meta("c1:pre")["baseline_key"]  # type: ignore[index]
    assert outcome.metrics[STEADY].valid
    plain = runtime_at(server, tmp_path, url, bench_categories=["creative-writing"])
    run_benchmark(plain, "c2", "c2:pre", "pre", [STEADY])
    assert runs_of(plain).meta("c2:pre")["baseline_key"] != runs_of(runtime).meta("c1:pre")["baseline_key"]  # type: ignore[index]
    assert all(r["judge"] is None for r in runs_of(plain).records("c2:pre"))

"""The loaders on the real benchmark slices in ../shared/data/benchmarks (skipped where absent)."""

from __future__ import annotations

import json
import re
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from agents.formats import MAX_CONTEXT_CHARS, Format, load
from agents.suite import Case, Suite
from tests.conftest import REPO
from tests.unit.test_suite import reference_failure

DATA = REPO.parent / "shared" / "data" / "benchmarks"
pytestmark = pytest.mark.skipif(not DATA.is_dir(), reason=f"real benchmark slices not found at {DATA}")

FILES: list[tuple[Format, str, str]] = [
    ("gsm8k", "gsm8k/gsm8k_test_first200.jsonl", "math"),
    ("humaneval", "humaneval/HumanEval.jsonl", "coding"),
    ("mbpp", "mbpp/mbpp_first200.jsonl", "coding"),
    ("hotpotqa", "hotpotqa/hotpot_dev_distractor_first100_hfformat.json", "multi-hop"),
    ("hotpotqa", "hotpotqa/hotpot_dev_distractor_v1_first53_original.jsonl", "multi-hop"),
    ("arc", "arc_challenge/arc_challenge_test_first200.jsonl", "reasoning"),
]
SAMPLE = 25  # references run per coding benchmark


def raw_records(path: Path) -> list[Any]:
    text = path.read_text(encoding="utf-8")
    if text.lstrip().startswith("["):
        return list(json.loads(text))
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def suite_of(relative: str) -> Suite:
    fmt = next(f for f, name, _ in FILES if name == relative)
    return load(DATA / relative, fmt)


@pytest.mark.parametrize(("fmt", "relative", "category"), FILES, ids=[name for _, name, _ in FILES])
def test_every_real_record_becomes_a_case(fmt: Format, relative: str, category: str) -> None:
    path = DATA / relative
    suite = load(path, fmt)
    assert len(suite.cases) == len(raw_records(path)) and suite.name == path.stem
    assert {case.category for case in suite.cases} == {category}
    assert len({case.id for case in suite.cases}) == len(suite.cases)
    assert all("Answer:" in (case.prompt or "") or "code block" in (case.prompt or "") for case in suite.cases)


def spread(cases: tuple[Case, ...], count: int) -> list[Case]:
    return [cases[i * len(cases) // count] for i in range(min(count, len(cases)))]


@pytest.mark.parametrize("relative", ["humaneval/HumanEval.jsonl", "mbpp/mbpp_first200.jsonl"])
def test_sampled_real_references_pass_their_tests(relative: str) -> None:
    sample = spread(suite_of(relative).cases, SAMPLE)
    with ThreadPoolExecutor(max_workers=4) as pool:
        failures = {case.id: why for case, why in zip(sample, pool.map(reference_failure, sample), strict=True) if why}
    assert failures == {}


def test_real_gsm8k_targets_are_integers_from_the_marker_line() -> None:
    path = DATA / "gsm8k/gsm8k_test_first200.jsonl"
    for case, record in zip(load(path, "gsm8k").cases, raw_records(path), strict=True):
        assert isinstance(case.target, str) and re.fullmatch(r"-?\d+", case.target), case.target
        assert record["answer"].rstrip().endswith(case.target) or "," in record["answer"].split("####")[-1]
        assert record["question"].strip() in (case.prompt or "")


def test_real_mbpp_prompts_name_the_function_the_tests_call() -> None:
    for case in suite_of("mbpp/mbpp_first200.jsonl").cases:
        entry = str(case.scorer_args["entry_point"])
        assert f"`{entry}`" in (case.prompt or "") and re.search(rf"\b{entry}\s*\(", str(case.scorer_args["tests"]))


def test_both_real_hotpotqa_layouts_agree_and_keep_the_supporting_paragraphs() -> None:
    hf = suite_of("hotpotqa/hotpot_dev_distractor_first100_hfformat.json").cases
    original_path = DATA / "hotpotqa/hotpot_dev_distractor_v1_first53_original.jsonl"
    original = load(original_path, "hotpotqa").cases
    for from_hf, from_original, record in zip(hf, original, raw_records(original_path), strict=False):
        assert (from_hf.prompt, from_hf.target) == (from_original.prompt, from_original.target)
        assert from_original.id == record["_id"] and from_original.target == [record["answer"]]
        for title, _ in record["supporting_facts"]:
            assert f"[{title}]" in (from_original.prompt or "")
    assert max(len(case.prompt or "") for case in hf) < MAX_CONTEXT_CHARS + 1000


def test_real_arc_answers_are_letters_among_the_choices() -> None:
    path = DATA / "arc_challenge/arc_challenge_test_first200.jsonl"
    for case, record in zip(load(path, "arc").cases, raw_records(path), strict=True):
        choices = case.scorer_args["choices"]
        assert isinstance(choices, list) and len(choices) == len(record["options"]) and case.target in choices
        assert case.target == record["answer"]  # this slice is already lettered A-D in order


@pytest.mark.parametrize(("fmt", "relative", "category"), FILES, ids=[name for _, name, _ in FILES])
def test_real_cases_are_usable_by_the_scorers_and_their_targets_score(fmt: Format, relative: str,
                                                                      category: str) -> None:
    scorers: Any = pytest.importorskip("agents.scorers")
    wrong: dict[str, str] = {}
    for case in load(DATA / relative, fmt).cases:
        scorers.validate(case)
        if case.scorer != "code":
            answer = case.target[0] if isinstance(case.target, list) else case.target
            result = scorers.score(case, f"Reasoning first.\nAnswer: {answer}")
            if not result.passed:
                wrong[case.id] = result.detail
    assert wrong == {}

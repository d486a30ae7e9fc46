"""The starter suite (structure, and every coding reference really passes) and native suite parsing."""

from __future__ import annotations

import importlib
import json
import re
import subprocess
import sys
import tempfile
import tomllib
from collections import Counter
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest

from agents.suite import DEFAULT_CATEGORIES, Case, Suite, SuiteError, load_native, starter_suite
from tests.conftest import REPO


def reference_failure(case: Case, timeout: float = 10.0) -> str | None:
    """Why the case's reference solution fails its own tests, or None when it passes.

    Uses ``agents.scorers.score`` when that module exists; otherwise runs reference + tests (+ ``check(entry)``
    for HumanEval-style tests) in an isolated child interpreter.
    """
    args = case.scorer_args
    reference, tests, entry = str(args["reference"]), str(args["tests"]), str(args["entry_point"])
    try:
        scorers: Any = importlib.import_module("agents.scorers")
    except ImportError:
        scorers = None
    if scorers is not None:
        result = scorers.score(case, f"```python\n{reference}\n```")
        return None if result.passed else f"{result.status}: {result.detail}"
    source = f"{reference}\n\n{tests}\n"
    if re.search(r"^def check\(", tests, re.MULTILINE):
        source += f"\ncheck({entry})\n"
    with tempfile.TemporaryDirectory() as workdir:
        script = Path(workdir, "reference_test.py")
        script.write_text(source, encoding="utf-8")
        try:
            run = subprocess.run([sys.executable, "-I", str(script)], cwd=workdir, capture_output=True, text=True,
                                 timeout=timeout)
        except subprocess.TimeoutExpired:
            return f"timed out after {timeout}s"
    return None if run.returncode == 0 else run.stderr.strip().splitlines()[-1]


STARTER = starter_suite()
CODING = [case for case in STARTER.cases if case.scorer == "code"]
SCORER_OF = {"coding": {"code"}, "reasoning": {"choice", "exact"}, "factual": {"exact"}, "math": {"numeric"},
             "multi-hop": {"f1"}, "creative-writing": {"rubric"}}


def test_starter_has_at_least_twenty_cases_in_each_default_category() -> None:
    counts = Counter(case.category for case in STARTER.cases)
    assert (STARTER.name, STARTER.version) == ("starter", "1")
    assert set(counts) == set(DEFAULT_CATEGORIES) and min(counts.values()) >= 20 and len(STARTER.cases) >= 120
    scorers = Counter(case.scorer for case in STARTER.cases if case.category == "reasoning")
    assert scorers["choice"] > scorers["exact"] > 0  # mostly multiple choice, some exact


def test_starter_ids_are_unique_and_named_after_their_category() -> None:
    ids = [case.id for case in STARTER.cases]
    assert len(ids) == len(set(ids))
    for case in STARTER.cases:
        assert re.fullmatch(rf"{re.escape(case.category)}-\d{{3}}", case.id), case.id
        assert case.scorer in SCORER_OF[case.category], case.id


def as_number(text: str) -> Fraction:
    return Fraction(text.replace(",", ""))


@pytest.mark.parametrize("case", STARTER.cases, ids=lambda c: c.id)
def test_every_starter_case_has_what_its_scorer_needs(case: Case) -> None:
    args, prompt = case.scorer_args, case.prompt or ""
    if case.scorer != "rubric":
        assert "Answer:" in prompt or "code block" in prompt  # the prompt says how to answer
    if case.scorer == "code":
        entry = args["entry_point"]
        assert isinstance(entry, str) and f"`{entry}" in prompt and f"def {entry}(" in str(args["reference"])
        assert str(args["tests"]).count("assert") >= 3 or "raise AssertionError" in str(args["tests"])
    elif case.scorer == "choice":
        assert args["choices"] == ["A", "B", "C", "D"] and case.target in args["choices"]
        assert all(f"\n{letter}) " in prompt for letter in "ABCD")
    elif case.scorer in ("exact", "f1"):
        assert isinstance(case.target, list) and case.target and all(isinstance(t, str) and t for t in case.target)
    elif case.scorer == "numeric":
        assert isinstance(case.target, str) and as_number(case.target) is not None
    else:
        low, high = args["min_words"], args["max_words"]
        assert isinstance(low, int) and isinstance(high, int) and 0 < low <= high and case.target is None
        assert isinstance(args["criteria"], str) and len(args["criteria"]) > 20
        required, forbidden = args["required"], args["forbidden"]
        assert isinstance(required, list) and isinstance(forbidden, list)
        assert not {str(r).lower() for r in required} & {str(f).lower() for f in forbidden}
        required_any = args["required_any"]
        assert isinstance(required_any, list) and all(isinstance(group, list) and group for group in required_any)


def test_starter_math_and_multi_hop_cover_the_awkward_answers() -> None:
    math = [str(case.target) for case in STARTER.cases if case.category == "math"]
    assert any("/" in t for t in math) and any("," in t for t in math) and "1,000,001" in math
    assert any(t.startswith("-") for t in math) and any("." in t for t in math)
    yes_no = [c for c in STARTER.cases if c.category == "multi-hop" and c.target in (["yes"], ["no"])]
    assert len(yes_no) >= 5 and {str(c.target) for c in yes_no} == {"['yes']", "['no']"}


def test_every_starter_case_is_usable_and_its_target_scores_as_correct() -> None:
    scorers: Any = pytest.importorskip("agents.scorers")
    wrong: dict[str, str] = {}
    for case in STARTER.cases:
        scorers.validate(case)
        if case.scorer in ("exact", "f1", "numeric", "choice"):
            for answer in case.target if isinstance(case.target, list) else [case.target]:
                result = scorers.score(case, f"Let me think about it.\nAnswer: {answer}")
                if not result.passed:
                    wrong[f"{case.id} {answer}"] = result.detail
    assert wrong == {}


@pytest.mark.parametrize("case", CODING, ids=lambda c: c.id)
def test_every_starter_coding_reference_passes_its_tests(case: Case) -> None:
    assert reference_failure(case) is None


def test_a_wrong_solution_fails_the_same_check() -> None:
    case = CODING[0]
    entry = case.scorer_args["entry_point"]
    wrong = f"def {entry}(*args):\n    return 0\n"
    broken = case.model_copy(update={"scorer_args": {**case.scorer_args, "reference": wrong}})
    assert reference_failure(broken) is not None


def test_the_starter_file_is_package_data() -> None:
    config = tomllib.loads((REPO / "pyproject.toml").read_text())
    assert "data/suite/*.jsonl" in config["tool"]["setuptools"]["package-data"]["agents"]


def line(**fields: Any) -> str:
    return json.dumps({"id": "c1", "category": "math", "prompt": "1+1?", "target": "2", "scorer": "numeric", **fields})


def write(tmp_path: Path, *lines: str, name: str = "mine.jsonl") -> Path:
    path = tmp_path / name
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_native_file_with_header_comments_and_blank_lines(tmp_path: Path) -> None:
    path = write(tmp_path, '{"suite": "team", "version": "7"}', "// a comment", "", line(),
                 line(id="c2", prompt=None, messages=[{"role": "system", "content": "Be terse."},
                                                      {"role": "user", "content": "2+2?"}]))
    suite = load_native(path)
    assert (suite.name, suite.version, [c.id for c in suite.cases]) == ("team", "7", ["c1", "c2"])
    assert suite.cases[1].chat() == [{"role": "system", "content": "Be terse."}, {"role": "user", "content": "2+2?"}]
    assert suite.cases[0].chat() == [{"role": "user", "content": "1+1?"}]
    assert load_native(path, version="override").version == "override"


def test_native_file_without_header_is_named_after_the_file(tmp_path: Path) -> None:
    suite = load_native(write(tmp_path, line()))
    assert (suite.name, suite.version) == ("mine", "unversioned")


@pytest.mark.parametrize(("bad", "expected"), [
    ('{"id": "c2", "category": "math", "prompt": "x"', "not a valid case"),
    (line(), "duplicate case id 'c1'"),
    (line(id="c2", messages=[{"role": "user", "content": "hi"}]), "exactly one of 'messages' and 'prompt'"),
    (line(id="c2", prompt=None), "exactly one of 'messages' and 'prompt'"),
    (line(id="c2", scorer="bleu"), "not a valid case"),
    (line(id="c2", surprise=1), "not a valid case"),
])
def test_a_bad_native_line_names_the_file_and_its_line(tmp_path: Path, bad: str, expected: str) -> None:
    path = write(tmp_path, '{"suite": "team", "version": "1"}', line(), bad)
    with pytest.raises(SuiteError, match=re.escape(expected)) as caught:
        load_native(path)
    assert f"{path}:3:" in str(caught.value)  # line 3 of the file, counting the header


def test_a_native_file_without_cases_or_without_a_file_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(SuiteError, match="has no cases"):
        load_native(write(tmp_path, '{"suite": "team", "version": "1"}'))
    with pytest.raises(SuiteError, match="cannot read suite"):
        load_native(tmp_path / "absent.jsonl")


def test_fingerprint_follows_the_cases_not_their_order() -> None:
    a, b = Case.model_validate_json(line()), Case.model_validate_json(line(id="c2", category="factual"))
    suite = Suite("s", "1", (a, b))
    assert Suite("s", "1", (b, a)).fingerprint == suite.fingerprint
    changed = Suite("s", "1", (a.model_copy(update={"target": "3"}), b))
    assert changed.fingerprint != suite.fingerprint


def test_only_keeps_the_chosen_categories() -> None:
    subset = STARTER.only(["math", "coding"])
    assert subset.categories == ["coding", "math"] and (subset.name, subset.version) == ("starter", "1")
    assert len(subset.cases) == sum(c.category in ("math", "coding") for c in STARTER.cases)
    assert STARTER.only([]).cases == ()

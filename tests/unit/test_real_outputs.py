"""The scorers on real data (../shared/data; skipped where absent): recorded GSM8K model solutions against
their correctness labels, and HumanEval's canonical solutions through the code scorer."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from agents.scorers import score
from agents.suite import Case
from tests.conftest import REPO

DATA = REPO.parent / "shared" / "data"
SOLUTIONS = DATA / "llm_outputs" / "gsm8k_openai_example_model_solutions" / "example_model_solutions.jsonl"
GSM8K = DATA / "benchmarks" / "gsm8k" / "gsm8k_test_first200.jsonl"
HUMANEVAL = DATA / "benchmarks" / "humaneval" / "HumanEval.jsonl"
MODELS = ("6b_finetuning", "6b_verification", "175b_finetuning", "175b_verification")


def lines(path: Path) -> list[dict[str, Any]]:
    if not path.is_file():
        pytest.skip(f"real data not found at {path}")
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def gsm8k_cases() -> list[tuple[Case, dict[str, Any], str]]:
    """(case, recorded solutions, the gold worked solution) for the first 200 GSM8K test questions."""
    recorded = {row["question"]: row for row in lines(SOLUTIONS)}
    found = []
    for number, item in enumerate(lines(GSM8K)):
        gold = item["answer"].split("#### ")[-1].strip()
        case = Case(id=f"gsm8k-{number}", category="math", prompt=item["question"], target=gold, scorer="numeric")
        found.append((case, recorded[item["question"]], item["answer"]))
    return found


def test_gold_worked_solutions_score_as_correct() -> None:
    for case, row, answer in gsm8k_cases():
        assert score(case, answer).passed, case.id  # "... #### 18"
        assert score(case, row["ground_truth"]).passed, case.id  # "... A: 18"


def test_numeric_scorer_agrees_with_the_recorded_correctness_labels() -> None:
    agree = unparsed = total = 0
    disagreements = []
    for case, row, _ in gsm8k_cases():
        for model in MODELS:
            result = score(case, row[model]["solution"])
            total += 1
            unparsed += result.unparsed
            if result.passed == row[model]["is_correct"]:
                agree += 1
            else:
                disagreements.append((case.id, model, case.target, result.answer))
    assert total == 800
    # measured: 800/800 agree, 0 unparsed (scorer version 1)
    assert agree / total >= 0.99, disagreements[:10]
    assert unparsed / total <= 0.01


def humaneval_sample() -> list[dict[str, Any]]:
    return lines(HUMANEVAL)[::4]  # 41 of 164 tasks keeps this test at a few seconds; all 164 pass too


def humaneval_case(task: dict[str, Any]) -> Case:
    return Case(id=task["task_id"], category="coding", prompt=task["prompt"], scorer="code",
                scorer_args={"tests": task["test"], "entry_point": task["entry_point"], "prompt_prefix": task["prompt"],
                             "reference": task["prompt"] + task["canonical_solution"]})


def test_humaneval_canonical_solutions_pass_and_wrong_ones_fail() -> None:
    tasks = humaneval_sample()
    assert len(tasks) == 41
    failures = []
    for task in tasks:
        case = humaneval_case(task)
        right = score(case, task["canonical_solution"])
        wrong = score(case, "    return None\n")
        if not right.passed or wrong.passed:
            failures.append((task["task_id"], right.detail, wrong.detail))
    assert not failures


def test_humaneval_full_function_in_a_fence_passes() -> None:
    task = humaneval_sample()[0]
    fenced = f"Here is my solution:\n```python\n{task['prompt']}{task['canonical_solution']}```\n"
    assert score(humaneval_case(task), fenced).passed

"""Loaders for the standard benchmark formats, on small records written here, and their errors."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from agents.formats import MAX_CONTEXT_CHARS, load
from agents.suite import SuiteError
from tests.unit.test_suite import reference_failure


def jsonl(tmp_path: Path, name: str, *records: Any) -> Path:
    path = tmp_path / name
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return path


GSM = [{"question": "A crate holds 1,234 apples. How many are there?", "answer": "It holds 1,234.\n#### 1,234"},
       {"question": "Ann has $2 and spends $5.50. What is her balance?", "answer": "2 - 5.5 = -3.5\n#### -3.5"}]


def test_gsm8k_records_become_numeric_math_cases(tmp_path: Path) -> None:
    suite = load(jsonl(tmp_path, "grade.jsonl", *GSM), "gsm8k")
    assert suite.name == "grade" and [c.id for c in suite.cases] == ["gsm8k-0001", "gsm8k-0002"]
    first, second = suite.cases
    assert (first.category, first.scorer, first.target, second.target) == ("math", "numeric", "1234", "-3.5")
    assert GSM[0]["question"] in (first.prompt or "") and "Answer: <number>" in (first.prompt or "")


def test_the_version_is_a_hash_of_the_file_content(tmp_path: Path) -> None:
    one = load(jsonl(tmp_path, "a.jsonl", *GSM), "gsm8k")
    same = load(jsonl(tmp_path, "b.jsonl", *GSM), "gsm8k")
    changed = load(jsonl(tmp_path, "c.jsonl", GSM[0], {**GSM[1], "answer": "#### 4"}), "gsm8k")
    assert one.version == same.version != changed.version and re.fullmatch(r"[0-9a-f]{12}", one.version)


def test_limit_takes_the_first_records(tmp_path: Path) -> None:
    path = jsonl(tmp_path, "grade.jsonl", *GSM)
    assert [c.target for c in load(path, "gsm8k", limit=1).cases] == ["1234"]
    with pytest.raises(SuiteError, match="limit must be at least 1"):
        load(path, "gsm8k", limit=0)


HUMANEVAL = {"task_id": "Mine/0", "entry_point": "double",
             "prompt": 'def double(x: int) -> int:\n    """Twice x."""\n', "canonical_solution": "    return 2 * x\n",
             "test": "def check(candidate):\n    assert candidate(2) == 4\n    assert candidate(-1) == -2\n"}


def test_humaneval_records_keep_prefix_tests_and_a_working_reference(tmp_path: Path) -> None:
    (case,) = load(jsonl(tmp_path, "he.jsonl", HUMANEVAL), "humaneval").cases
    args = case.scorer_args
    assert (case.id, case.category, case.scorer, args["entry_point"]) == ("Mine/0", "coding", "code", "double")
    assert args["prompt_prefix"] == HUMANEVAL["prompt"] and args["tests"] == HUMANEVAL["test"]
    assert args["reference"] == HUMANEVAL["prompt"] + HUMANEVAL["canonical_solution"]
    assert HUMANEVAL["prompt"].rstrip() in (case.prompt or "") and "code block" in (case.prompt or "")
    assert reference_failure(case) is None


MBPP: list[dict[str, Any]] = [{"task_id": 7, "text": "Write a function to find the common items of two lists.",
         "code": "def helper(x):\n    return set(x)\n\ndef common(a, b):\n    return helper(a) & helper(b)\n",
         "test_list": ["assert sorted(common([1, 2], [2, 3])) == [2]", "assert common([], [1]) == set()"],
         "test_setup_code": "import math", "challenge_test_list": []},
        {"task_id": 8, "text": "Square a number.", "code": "square = lambda x: x * x",
         "test_list": ["assert square(3) == 9"], "test_setup_code": "", "challenge_test_list": []}]


def test_mbpp_records_name_the_function_the_tests_call(tmp_path: Path) -> None:
    first, second = load(jsonl(tmp_path, "mbpp.jsonl", *MBPP), "mbpp").cases
    assert (first.id, first.scorer_args["entry_point"], second.scorer_args["entry_point"]) == ("mbpp-7", "common",
                                                                                                "square")
    assert str(first.scorer_args["tests"]).startswith("import math\nassert sorted(common(")
    assert "`common`" in (first.prompt or "") and MBPP[0]["test_list"][0] in (first.prompt or "")
    assert first.scorer_args["reference"] == MBPP[0]["code"]
    assert reference_failure(first) is None and reference_failure(second) is None


def hotpot_original(distractor: str = "A town in Arkansas.") -> dict[str, Any]:
    return {"_id": "q1", "question": "Which river runs past the city where Ada was born?", "answer": "the Weir",
            "type": "bridge", "level": "easy", "supporting_facts": [["Ada", 0], ["Brookton", 0]],
            "context": [["Ada", ["Ada was born in Brookton."]], ["Woodson", [distractor]],
                        ["Brookton", ["Brookton lies on the Weir.", " It is small."]]]}


def to_hf(record: dict[str, Any]) -> dict[str, Any]:
    titles, sentences = zip(*record["context"], strict=True)
    facts = record["supporting_facts"]
    return {"id": record["_id"], "question": record["question"], "answer": record["answer"], "type": "bridge",
            "level": "easy", "supporting_facts": {"title": [f[0] for f in facts], "sent_id": [f[1] for f in facts]},
            "context": {"title": list(titles), "sentences": list(sentences)}}


def test_hotpotqa_original_list_jsonl_and_hf_layouts_give_the_same_case(tmp_path: Path) -> None:
    listed = tmp_path / "hotpot.json"
    listed.write_text(json.dumps([hotpot_original()], indent=2), encoding="utf-8")
    lines, hf = jsonl(tmp_path, "h.jsonl", hotpot_original()), jsonl(tmp_path, "hf.jsonl", to_hf(hotpot_original()))
    cases = [load(path, "hotpotqa").cases[0] for path in (listed, lines, hf)]
    assert all(case == cases[0] for case in cases)
    case = cases[0]
    assert (case.id, case.category, case.scorer, case.target) == ("q1", "multi-hop", "f1", ["the Weir"])
    prompt = case.prompt or ""
    assert "[Brookton] Brookton lies on the Weir. It is small." in prompt and "Answer: <short answer>" in prompt


def test_hotpotqa_context_is_bounded_by_dropping_distractors_first(tmp_path: Path) -> None:
    big = "Filler sentence. " * (MAX_CONTEXT_CHARS // 10)
    (case,) = load(jsonl(tmp_path, "h.jsonl", hotpot_original(distractor=big)), "hotpotqa").cases
    prompt = case.prompt or ""
    assert "Ada was born in Brookton." in prompt and "Brookton lies on the Weir." in prompt
    assert "Filler" not in prompt and len(prompt) < MAX_CONTEXT_CHARS


def test_hotpotqa_records_without_an_id_are_numbered(tmp_path: Path) -> None:
    record = {k: v for k, v in to_hf(hotpot_original()).items() if k != "id"}
    assert load(jsonl(tmp_path, "h.jsonl", record), "hotpotqa").cases[0].id == "hotpotqa-0001"


ARC_STANDARD = {"id": "Own_1", "answerKey": "3",
                "question": {"stem": "Which of these is a liquid at room temperature?",
                             "choices": [{"text": "Iron", "label": "1"}, {"text": "Salt", "label": "2"},
                                         {"text": "Water", "label": "3"}, {"text": "Sand", "label": "4"}]}}
ARC_FLAT = {"id": "Own_2", "question": "What do plants take in from the air?", "answer": "B",
            "options": [{"label": "A", "text": "Oxygen only"}, {"label": "B", "text": "Carbon dioxide"},
                        {"label": "C", "text": "Helium"}]}
ARC_HF = {"id": "Own_3", "question": "Which is a mammal?", "answerKey": "A",
          "choices": {"text": ["Dolphin", "Shark", "Trout", "Eel"], "label": ["A", "B", "C", "D"]}}


def test_arc_layouts_become_letter_choice_cases(tmp_path: Path) -> None:
    standard, flat, hf = load(jsonl(tmp_path, "arc.jsonl", ARC_STANDARD, ARC_FLAT, ARC_HF), "arc").cases
    assert (standard.category, standard.scorer, standard.target) == ("reasoning", "choice", "C")  # "3" -> "C"
    assert standard.scorer_args["choices"] == ["A", "B", "C", "D"] and "\nC) Water\n" in (standard.prompt or "")
    assert (flat.target, flat.scorer_args["choices"]) == ("B", ["A", "B", "C"])
    assert (hf.id, hf.target) == ("Own_3", "A") and "A) Dolphin" in (hf.prompt or "")


def test_native_files_load_through_the_same_door(tmp_path: Path) -> None:
    case = {"id": "c1", "category": "math", "prompt": "1+1?", "target": "2", "scorer": "numeric"}
    headed = jsonl(tmp_path, "headed.jsonl", {"suite": "team", "version": "3"}, case, {**case, "id": "c2"})
    bare = jsonl(tmp_path, "bare.jsonl", case)
    assert (load(headed, "native").version, len(load(headed, "native", limit=1).cases)) == ("3", 1)
    assert load(bare, "native").name == "bare" and re.fullmatch(r"[0-9a-f]{12}", load(bare, "native").version)


@pytest.mark.parametrize(("fmt", "lines", "expected"), [
    ("gsm8k", [json.dumps(GSM[0]), json.dumps({"question": "q", "answer": "no marker 5"})], ":2: .*has no '####"),
    ("gsm8k", [json.dumps(GSM[0]), json.dumps({"question": "q", "answer": "#### many"})], ":2: .*not a number"),
    ("gsm8k", [json.dumps(GSM[0]), json.dumps(GSM[1])[:30]], ":2: not valid JSON"),
    ("gsm8k", ["", json.dumps({"answer": "#### 1"})], ":2: .*missing field 'question'"),
    ("gsm8k", ["[1, 2]"], ": record 1: .*expected a JSON object"),
    ("humaneval", [json.dumps({k: v for k, v in HUMANEVAL.items() if k != "test"})], ":1: .*missing field 'test'"),
    ("mbpp", [json.dumps({**MBPP[0], "test_list": []})], ":1: .*non-empty list"),
    ("mbpp", [json.dumps({**MBPP[0], "task_id": "seven"})], ":1: .*'task_id' should be int"),
    ("hotpotqa", [json.dumps({**hotpot_original(), "context": "none"})], ":1: .*'context'"),
    ("hotpotqa", ['[{"_id": "q1",', '"question": "cut off'], ":2: not valid JSON"),
    ("arc", [json.dumps({**ARC_FLAT, "answer": "E"})], ":1: .*answer key 'E'"),
    ("arc", [json.dumps(ARC_FLAT), json.dumps(ARC_FLAT)], ":2: duplicate case id 'Own_2'"),
])
def test_malformed_input_names_the_file_and_line(tmp_path: Path, fmt: Any, lines: list[str], expected: str) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(SuiteError, match=re.escape(str(path)) + expected):
        load(path, fmt)


@pytest.mark.parametrize("content", ["", "  \n\n", "[]"])
def test_an_empty_file_is_an_error(tmp_path: Path, content: str) -> None:
    path = tmp_path / "empty.jsonl"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(SuiteError, match="empty|no records"):
        load(path, "gsm8k")


def test_an_unknown_format_or_a_missing_file_is_an_error(tmp_path: Path) -> None:
    path = jsonl(tmp_path, "grade.jsonl", *GSM)
    with pytest.raises(SuiteError, match="unknown format 'squad'"):
        load(path, "squad")  # type: ignore[arg-type]
    with pytest.raises(SuiteError, match="cannot read"):
        load(tmp_path / "absent.jsonl", "gsm8k")

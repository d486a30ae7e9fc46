"""Loaders for standard benchmark files (GSM8K, HumanEval, MBPP, HotpotQA, ARC): each record becomes a Case."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, Literal, TypeVar, get_args

from pydantic import JsonValue, ValidationError

from agents.suite import Case, Suite, SuiteError, parse_native

Format = Literal["native", "gsm8k", "humaneval", "mbpp", "hotpotqa", "arc"]
FORMATS: tuple[str, ...] = get_args(Format)
MAX_CONTEXT_CHARS = 6000  # HotpotQA: distractor paragraphs are dropped first to stay under this
NUMBER = re.compile(r"-?\d+(?:\.\d+)?(?:/\d+)?")
T = TypeVar("T")


class RecordError(ValueError):
    """What is wrong with one record; ``load`` adds the file and line."""


def load(path: Path, fmt: Format, limit: int | None = None) -> Suite:
    """The suite in ``path``: named after the file stem, versioned by a hash of the file's content."""
    if fmt not in FORMATS:
        raise SuiteError(f"{path}: unknown format {fmt!r} (known: {', '.join(FORMATS)})")
    if limit is not None and limit < 1:
        raise SuiteError(f"{path}: limit must be at least 1, not {limit}")
    try:
        raw = path.read_bytes()
        text = raw.decode("utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise SuiteError(f"cannot read {path}: {exc}") from exc
    if not text.strip():
        raise SuiteError(f"{path}: the file is empty")
    version = hashlib.sha256(raw).hexdigest()[:12]
    if fmt == "native":
        native = parse_native(text, str(path), path.stem)
        cases = native.cases[:limit] if limit else native.cases
        return Suite(native.name, version if native.version == "unversioned" else native.version, cases)
    convert = CONVERTERS[fmt]
    found: list[Case] = []
    seen: set[str] = set()
    for where, number, record in records(text, str(path)):
        if limit is not None and len(found) >= limit:
            break
        try:
            if not isinstance(record, dict):
                raise RecordError(f"expected a JSON object, got {type(record).__name__}")
            case = convert(record, number)
        except (RecordError, ValidationError) as exc:
            raise SuiteError(f"{where}: bad {fmt} record: {exc}") from exc
        if case.id in seen:
            raise SuiteError(f"{where}: duplicate case id {case.id!r}")
        seen.add(case.id)
        found.append(case)
    if not found:
        raise SuiteError(f"{path}: no records")
    return Suite(path.stem, version, tuple(found))


def records(text: str, where: str) -> Iterator[tuple[str, int, Any]]:
    """(location, record number, record) from a JSON array or from JSONL."""
    if text.lstrip().startswith("["):
        try:
            items = json.loads(text)
        except json.JSONDecodeError as exc:
            raise SuiteError(f"{where}:{exc.lineno}: not valid JSON: {exc.msg} (column {exc.colno})") from exc
        for number, item in enumerate(items, 1):
            yield f"{where}: record {number}", number, item
        return
    number = 0
    for line_number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        number += 1
        try:
            yield f"{where}:{line_number}", number, json.loads(line)
        except json.JSONDecodeError as exc:
            raise SuiteError(f"{where}:{line_number}: not valid JSON: {exc.msg} (column {exc.colno})") from exc


def field(record: dict[str, Any], key: str, kind: type[T]) -> T:
    if key not in record:
        raise RecordError(f"missing field {key!r}")
    value = record[key]
    if not isinstance(value, kind):
        raise RecordError(f"field {key!r} should be {kind.__name__}, not {type(value).__name__}")
    return value


def gsm8k(record: dict[str, Any], number: int) -> Case:
    question, answer = field(record, "question", str), field(record, "answer", str)
    if "####" not in answer:
        raise RecordError("the answer has no '#### <number>' line")
    target = answer.rsplit("####", 1)[1].strip().replace(",", "").removeprefix("$").rstrip(".")
    if not NUMBER.fullmatch(target):
        raise RecordError(f"the answer after '####' is not a number: {target!r}")
    prompt = (f"{question.strip()}\n\nSolve the problem step by step, then end with a final line "
              "'Answer: <number>' giving only the number, with no units.")
    return Case(id=f"gsm8k-{number:04d}", category="math", prompt=prompt, target=target, scorer="numeric")


def humaneval(record: dict[str, Any], number: int) -> Case:
    prefix, entry = field(record, "prompt", str), field(record, "entry_point", str)
    solution, tests = field(record, "canonical_solution", str), field(record, "test", str)
    prompt = (f"Complete the Python function `{entry}` below.\n\n```python\n{prefix.rstrip()}\n```\n\n"
              f"Reply with a single Python code block containing the complete function `{entry}` "
              "(its signature and body, with any imports it needs).")
    args: dict[str, JsonValue] = {"tests": tests, "entry_point": entry, "prompt_prefix": prefix,
                                  "reference": prefix + solution}
    return Case(id=field(record, "task_id", str), category="coding", prompt=prompt, scorer="code", scorer_args=args)


def mbpp(record: dict[str, Any], number: int) -> Case:
    task_id, text, code = field(record, "task_id", int), field(record, "text", str), field(record, "code", str)
    test_list = field(record, "test_list", list)
    if not test_list or not all(isinstance(test, str) for test in test_list):
        raise RecordError("field 'test_list' should be a non-empty list of strings")
    setup = record.get("test_setup_code") or ""
    if not isinstance(setup, str):
        raise RecordError("field 'test_setup_code' should be a string")
    entry = mbpp_entry_point(code, test_list[0])
    prompt = (f"{text.strip()}\n\nName the function `{entry}`. It must pass tests like this one:\n"
              f"```python\n{test_list[0].strip()}\n```\n"
              f"Reply with a single Python code block that defines `{entry}` (with any imports it needs).")
    tests = "\n".join([setup, *test_list]).strip() + "\n"
    args: dict[str, JsonValue] = {"tests": tests, "entry_point": entry, "reference": code}
    return Case(id=f"mbpp-{task_id}", category="coding", prompt=prompt, scorer="code", scorer_args=args)


def mbpp_entry_point(code: str, first_test: str) -> str:
    """The function the tests call: a function the code defines and the first test uses, else the first call."""
    for name in re.findall(r"^def\s+([A-Za-z_]\w*)\s*\(", code, re.MULTILINE):
        if re.search(rf"\b{name}\s*\(", first_test):
            return str(name)
    called = re.search(r"assert\s+(?:not\s+)?\(?\s*([A-Za-z_]\w*)\s*\(", first_test)
    if called is None:
        raise RecordError(f"cannot tell which function the first test calls: {first_test!r}")
    return called.group(1)


def hotpotqa(record: dict[str, Any], number: int) -> Case:
    question, answer = field(record, "question", str), field(record, "answer", str)
    paragraphs = hotpot_paragraphs(record.get("context"))
    supporting = hotpot_supporting_titles(record.get("supporting_facts"))
    context = "\n\n".join(f"[{title}] {text}" for title, text in bounded(paragraphs, supporting))
    prompt = (f"Answer the question using the paragraphs below.\n\n{context}\n\nQuestion: {question.strip()}\n\n"
              "Reason briefly, then end with a final line 'Answer: <short answer>': a name, a short phrase, "
              "or yes or no for a yes-or-no question.")
    case_id = record.get("_id") or record.get("id") or f"hotpotqa-{number:04d}"
    return Case(id=str(case_id), category="multi-hop", prompt=prompt, target=[answer], scorer="f1")


def hotpot_paragraphs(context: Any) -> list[tuple[str, str]]:
    """(title, text) pairs from the original ``[[title, sentences], ...]`` or the HF ``{title, sentences}``."""
    if isinstance(context, dict):
        titles, bodies = context.get("title"), context.get("sentences")
        if not isinstance(titles, list) or not isinstance(bodies, list) or len(titles) != len(bodies):
            raise RecordError("field 'context' should hold equally long 'title' and 'sentences' lists")
        pairs = list(zip(titles, bodies, strict=True))
    elif isinstance(context, list) and all(isinstance(pair, list) and len(pair) == 2 for pair in context):
        pairs = [(pair[0], pair[1]) for pair in context]
    else:
        raise RecordError("field 'context' is missing or is neither [[title, sentences], ...] nor {title, sentences}")
    paragraphs = []
    for title, sentences in pairs:
        if not isinstance(title, str) or not isinstance(sentences, list):
            raise RecordError("each context paragraph needs a title and a list of sentences")
        paragraphs.append((title, "".join(str(sentence) for sentence in sentences).strip()))
    if not paragraphs:
        raise RecordError("field 'context' has no paragraphs")
    return paragraphs


def hotpot_supporting_titles(facts: Any) -> set[str]:
    if isinstance(facts, dict) and isinstance(facts.get("title"), list):
        return {str(title) for title in facts["title"]}
    if isinstance(facts, list):
        return {str(fact[0]) for fact in facts if isinstance(fact, list) and fact}
    return set()


def bounded(paragraphs: list[tuple[str, str]], keep: set[str]) -> list[tuple[str, str]]:
    """The paragraphs in their order, dropping distractors (last first) and then clipping to MAX_CONTEXT_CHARS."""
    chosen = list(paragraphs)
    while sum(len(text) for _, text in chosen) > MAX_CONTEXT_CHARS:
        droppable = [i for i, (title, _) in enumerate(chosen) if title not in keep]
        if not droppable:
            break
        del chosen[droppable[-1]]
    if sum(len(text) for _, text in chosen) <= MAX_CONTEXT_CHARS:
        return chosen
    budget = MAX_CONTEXT_CHARS // len(chosen)
    return [(title, text if len(text) <= budget else text[:budget].rstrip() + " ...") for title, text in chosen]


def arc(record: dict[str, Any], number: int) -> Case:
    """ARC in its standard JSONL, the HF layout, or the flat ``{question, options, answer}`` layout."""
    question = record.get("question")
    if isinstance(question, dict):  # standard: {"question": {"stem", "choices"}, "answerKey"}
        stem, choices = field(question, "stem", str), question.get("choices")
    else:
        stem, choices = field(record, "question", str), record.get("options", record.get("choices"))
    if isinstance(choices, dict):  # HF: {"text": [...], "label": [...]}
        choices = [{"label": label, "text": text} for label, text in
                   zip(choices.get("label") or [], choices.get("text") or [], strict=False)]
    if not isinstance(choices, list) or not 2 <= len(choices) <= 26:
        raise RecordError("the question needs a list of 2 to 26 choices")
    if not all(isinstance(c, dict) and isinstance(c.get("text"), str) and "label" in c for c in choices):
        raise RecordError("each choice needs a 'label' and a 'text'")
    key = str(record.get("answerKey", record.get("answer", ""))).strip()
    labels = [str(choice["label"]).strip() for choice in choices]
    if key not in labels:
        raise RecordError(f"the answer key {key!r} is not one of the labels {labels}")
    letters = [chr(ord("A") + i) for i in range(len(choices))]  # relabel by position: "1"-"4" become "A"-"D"
    listed = "\n".join(f"{letter}) {choice['text']}" for letter, choice in zip(letters, choices, strict=True))
    prompt = (f"{stem.strip()}\n\n{listed}\n\nThink it through briefly, then end with a final line "
              f"'Answer: <letter>' where <letter> is one of {', '.join(letters)}.")
    case_id = record.get("id") or f"arc-{number:04d}"
    return Case(id=str(case_id), category="reasoning", prompt=prompt, target=letters[labels.index(key)],
                scorer="choice", scorer_args={"choices": list(letters)})


CONVERTERS: dict[str, Callable[[dict[str, Any], int], Case]] = {
    "gsm8k": gsm8k, "humaneval": humaneval, "mbpp": mbpp, "hotpotqa": hotpotqa, "arc": arc}

"""Benchmark suites: versioned cases (JSONL), one line a case, each naming its scorer."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, JsonValue, ValidationError, model_validator

ScorerName = Literal["exact", "numeric", "code", "f1", "choice", "rubric"]
DEFAULT_CATEGORIES = ("coding", "reasoning", "factual", "math", "multi-hop", "creative-writing")


class SuiteError(ValueError):
    """A suite file that cannot be used: names the file, the line and what is wrong."""


class Message(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    role: Literal["system", "user", "assistant"]
    content: str


class Case(BaseModel):
    """One benchmark case. ``prompt`` is shorthand for a single user message."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str = Field(min_length=1, max_length=200)
    category: str = Field(min_length=1, max_length=100)
    messages: tuple[Message, ...] = ()
    prompt: str | None = None
    target: JsonValue = None
    scorer: ScorerName
    scorer_args: dict[str, JsonValue] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _one_input(self) -> Case:
        if bool(self.messages) == (self.prompt is not None):
            raise ValueError("a case needs exactly one of 'messages' and 'prompt'")
        return self

    def chat(self) -> list[dict[str, str]]:
        """The case as OpenAI chat messages."""
        if self.prompt is not None:
            return [{"role": "user", "content": self.prompt}]
        return [message.model_dump() for message in self.messages]


@dataclass(frozen=True)
class Suite:
    name: str
    version: str
    cases: tuple[Case, ...]

    @property
    def fingerprint(self) -> str:
        """Changes whenever any case changes (a changed suite starts a new baseline)."""
        digest = hashlib.sha256()
        for case in sorted(self.cases, key=lambda c: c.id):
            digest.update(case.model_dump_json().encode())
        return digest.hexdigest()[:16]

    @property
    def categories(self) -> list[str]:
        return sorted({case.category for case in self.cases})

    def only(self, categories: Iterable[str]) -> Suite:
        wanted = set(categories)
        return Suite(self.name, self.version, tuple(c for c in self.cases if c.category in wanted))


def parse_cases(lines: Iterable[str], where: str) -> list[Case]:
    """Cases from JSONL lines; a bad line or a duplicate id is a SuiteError naming the line."""
    cases: list[Case] = []
    seen: set[str] = set()
    for number, line in enumerate(lines, 1):
        if not line.strip() or line.lstrip().startswith("//"):
            continue
        try:
            data: Any = json.loads(line)
            case = Case.model_validate(data)
        except (ValueError, ValidationError) as exc:
            raise SuiteError(f"{where}:{number}: not a valid case: {exc}") from exc
        if case.id in seen:
            raise SuiteError(f"{where}:{number}: duplicate case id {case.id!r}")
        seen.add(case.id)
        cases.append(case)
    return cases


def load_native(path: Path, version: str | None = None) -> Suite:
    """A native suite file; its version is the first line's ``{"suite": NAME, "version": V}`` header if present."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise SuiteError(f"cannot read suite {path}: {exc}") from exc
    return parse_native(text, str(path), path.stem, version)


def parse_native(text: str, where: str, name: str, version: str | None = None) -> Suite:
    """A native suite from its text; ``name`` is used when the text has no header."""
    lines = text.splitlines()
    declared = None
    if lines and lines[0].strip().startswith("{"):
        try:
            header = json.loads(lines[0])
        except ValueError:
            header = None
        if isinstance(header, dict) and "suite" in header and "id" not in header:
            name, declared = str(header["suite"]), str(header.get("version", "")) or None
            lines[0] = ""  # blank, so that errors still name the file's own line numbers
    cases = parse_cases(lines, where)
    if not cases:
        raise SuiteError(f"suite {where} has no cases")
    return Suite(name, version or declared or "unversioned", tuple(cases))


STARTER = "data/suite/starter.jsonl"


def starter_suite() -> Suite:
    """The packaged starter suite: original cases in every default category."""
    text = resources.files("agents").joinpath(STARTER).read_text(encoding="utf-8")
    return parse_native(text, f"agents/{STARTER}", "starter")

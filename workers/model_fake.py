"""A stand-in OpenAI-compatible model server whose simulated models answer the starter suite (sandbox, tests).

Each model answers each category right with a configurable probability; the draw is fixed per (model, case), as
at temperature 0, except for a share of flaky cases that are drawn afresh on every request. Quality can drop from
a given simulated week on, so the demo shows a real alert; faults (429 with Retry-After, 5xx, hangs, malformed
bodies) can be queued for tests.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from agents.suite import Case, Suite, starter_suite
from workers.sandbox import Request, Response


@dataclass
class Profile:
    accuracy: dict[str, float] = field(default_factory=dict)  # category -> share answered right
    default_accuracy: float = 0.85
    latency: float = 0.005  # seconds per answer
    flaky: float = 0.1  # share of cases drawn afresh on every request
    drops: dict[int, float] = field(default_factory=dict)  # from week N on, accuracy times this factor


def _unit(*parts: object) -> float:
    digest = hashlib.sha256("|".join(map(str, parts)).encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def right_answer(case: Case) -> str:
    args, target = case.scorer_args, case.target
    first = target[0] if isinstance(target, list) and target else target
    if case.scorer == "code":
        return f"Here is the function.\n```python\n{args.get('reference', '')}\n```"
    if case.scorer == "rubric":
        words = [str(w) for w in args.get("required") or []]  # type: ignore[union-attr]
        words += [str(group[0]) for group in args.get("required_any") or [] if group]  # type: ignore[union-attr,index]
        minimum = int(args.get("min_words") or 0)  # type: ignore[arg-type]
        filler = ["the", "quiet", "morning", "light", "settled", "over", "a", "small", "town"]
        text = list(words)
        while len(text) < max(minimum, len(words)) + 5:
            text.append(filler[len(text) % len(filler)])
        return " ".join(text) + "."
    return f"Working through it step by step.\nAnswer: {first}"


def wrong_answer(case: Case) -> str:
    target = case.target
    first = str(target[0] if isinstance(target, list) and target else target)
    if case.scorer == "code":
        entry = case.scorer_args.get("entry_point") or "solution"
        return f"```python\ndef {entry}(*args, **kwargs):\n    return None\n```"
    if case.scorer == "rubric":
        return "No."
    if case.scorer == "choice":
        return "Answer: " + ("A" if first.strip().upper() != "A" else "B")
    if case.scorer == "numeric":
        try:
            return f"Answer: {int(first.replace(',', '')) + 7}"
        except ValueError:
            return "Answer: 7"
    if first.strip().lower() == "yes":
        return "Answer: no"
    return "Answer: something else entirely"


class FakeModels:
    """``handle`` serves POST <base>/chat/completions; ``next_week`` moves the simulated week on."""

    def __init__(self, profiles: dict[str, Profile] | None = None, suite: Suite | None = None,
                 concurrency: int | None = None) -> None:
        self.profiles = profiles if profiles is not None else {}
        self.cases = {case.chat()[-1]["content"]: case for case in (suite or starter_suite()).cases}
        self.week = 1
        self.faults: list[Response | float] = []  # queued: a response to give, or seconds to hang
        self.requests = 0
        self._lock = threading.Lock()
        self._slots = threading.BoundedSemaphore(concurrency) if concurrency else None
        self.max_in_flight = 0
        self._in_flight = 0

    def next_week(self) -> None:
        self.week += 1

    def profile(self, model: str) -> Profile:
        return self.profiles.get(model) or self.profiles.get("*") or Profile()

    def correct(self, model: str, case: Case) -> bool:
        profile = self.profile(model)
        accuracy = profile.accuracy.get(case.category, profile.default_accuracy)
        for week, factor in sorted(profile.drops.items()):
            if self.week >= week:
                accuracy *= factor
        if _unit("flaky", model, case.id) < profile.flaky:
            with self._lock:
                return _unit(model, case.id, self.week, self.requests) < accuracy
        return _unit(model, case.id) < accuracy

    def handle(self, request: Request) -> Response:
        if request.method != "POST" or not request.path.endswith("/chat/completions"):
            return Response.json({"error": {"message": "not found"}}, 404)
        with self._lock:
            self.requests += 1
            fault = self.faults.pop(0) if self.faults else None
        if isinstance(fault, Response):
            return fault
        if isinstance(fault, float):
            time.sleep(fault)
        if self._slots is not None:
            with self._slots:
                return self._answer(request)
        return self._answer(request)

    def _answer(self, request: Request) -> Response:
        with self._lock:
            self._in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self._in_flight)
        try:
            return self._reply(request)
        finally:
            with self._lock:
                self._in_flight -= 1

    def _reply(self, request: Request) -> Response:
        try:
            body: Any = json.loads(request.body)
            model, messages = str(body["model"]), body["messages"]
            prompt = str(messages[-1]["content"])
        except (ValueError, KeyError, TypeError, IndexError):
            return Response.json({"error": {"message": "bad request"}}, 400)
        profile = self.profile(model)
        time.sleep(profile.latency)
        if "GRADE:" in str(messages[0].get("content", "")):  # a judge's request
            text = "The piece meets the criteria.\nGRADE: 8"
        elif (case := self.cases.get(prompt)) is not None:
            text = right_answer(case) if self.correct(model, case) else wrong_answer(case)
        else:
            text = "I am not sure."
        return Response.json({
            "id": f"chatcmpl-{self.requests}", "object": "chat.completion", "created": int(time.time()),
            "model": model, "provider": "sandbox",
            "choices": [{"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": text}}],
            "usage": {"prompt_tokens": len(prompt) // 4, "completion_tokens": len(text) // 4,
                      "total_tokens": (len(prompt) + len(text)) // 4}})

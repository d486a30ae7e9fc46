"""Running benchmark cases against a model: ask, score, record. Errors are recorded apart from wrong answers."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from agents.scorers import Score, judge_messages, parse_judge, score
from agents.sources.chat import ChatClient, Completion, Endpoint
from agents.suite import Case

RESPONSE_CAP = 4000  # characters of each response kept in its record


@dataclass(frozen=True)
class Target:
    """A model under test and where it is served."""

    model: str
    endpoint: Endpoint


@dataclass(frozen=True)
class Judge:
    """The model that grades creative writing (temperature 0, a fixed seed); part of the baseline key."""

    target: Target
    pass_score: float = 7.0

    @property
    def key(self) -> str:
        return f"{self.target.model}@{self.target.endpoint.name}"


@dataclass(frozen=True)
class Options:
    seed: int = 1234
    max_tokens: int = 1024
    code_slots: int = 2  # code cases scored at once (each runs a child process)


Save = Callable[[str, str, dict[str, Any]], None]  # model, case id, record


def record_of(target: Target, case: Case, reply: Completion, result: Score | None, judge: str | None) -> dict[str, Any]:
    record: dict[str, Any] = {
        "case_id": case.id, "category": case.category, "model": target.model, "endpoint": target.endpoint.name,
        "status": "error" if result is None else "scored", "latency": reply.latency, "retries": reply.retries,
        "prompt_tokens": reply.prompt_tokens, "completion_tokens": reply.completion_tokens,
        "provider": reply.provider, "response": (reply.text or "")[:RESPONSE_CAP], "scorer": case.scorer,
    }
    if result is None:
        record.update(error_type=reply.error_type, error=reply.error, status_code=reply.status_code)
    else:
        record.update(score=result.value, passed=result.passed, answer=result.answer, unparsed=result.unparsed,
                      score_status=result.status, detail=result.detail[:300], judge=judge)
    return record


async def _grade(client: ChatClient, case: Case, text: str, judge: Judge | None, options: Options,
                 code_slots: asyncio.Semaphore) -> tuple[Score, str | None]:
    if case.scorer == "rubric" and judge is not None:
        verdict = await client.complete(judge.target.endpoint, judge.target.model, judge_messages(case, text),
                                        temperature=0.0, seed=options.seed, max_tokens=256)
        if verdict.ok and verdict.text is not None:
            configured = case.scorer_args.get("pass_score")
            threshold = float(configured) if isinstance(configured, int | float) else judge.pass_score
            return parse_judge(verdict.text, threshold), judge.key
        # a judge that failed to answer: fall back to the rubric checks, and say so in the record
        result = score(case, text)
        return Score(result.value, result.passed, result.answer, result.unparsed, result.status,
                     f"judge failed ({verdict.error_type}); rubric checks: {result.detail}"), None
    if case.scorer == "code":
        async with code_slots:
            return await asyncio.to_thread(score, case, text), None
    return score(case, text), None


async def run_cases(client: ChatClient, target: Target, cases: Sequence[Case], save: Save, *,
                    judge: Judge | None = None, options: Options | None = None) -> list[dict[str, Any]]:
    """Ask every case of one model at once (the client's per-endpoint limiter paces them), score and save each."""
    options = options or Options()
    code_slots = asyncio.Semaphore(max(1, options.code_slots))

    async def one(case: Case) -> dict[str, Any]:
        reply = await client.complete(target.endpoint, target.model, case.chat(), temperature=0.0,
                                      seed=options.seed, max_tokens=options.max_tokens)
        result, judged_by = None, None
        if reply.ok and reply.text is not None:
            result, judged_by = await _grade(client, case, reply.text, judge, options, code_slots)
        record = record_of(target, case, reply, result, judged_by)
        save(target.model, case.id, record)
        return record

    return list(await asyncio.gather(*(one(case) for case in cases)))

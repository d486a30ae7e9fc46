"""The HTTP API's request and response bodies (they make its OpenAPI document)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import AliasChoices, BaseModel, ConfigDict, Field

NAME_PATTERN = r"^[^\x00-\x1f\x7f]*[^\s\x00-\x1f\x7f][^\x00-\x1f\x7f]*$"  # printable, not blank


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class ErrorBody(BaseModel):
    detail: str


class FieldError(BaseModel):
    loc: list[str | int]
    msg: str
    type: str


class ValidationErrors(BaseModel):
    """What a 422 says: which fields are wrong and why (the input is not echoed back)."""

    detail: list[FieldError]


class Health(BaseModel):
    status: Literal["ok", "unavailable"]
    redis: Literal["ok", "unreachable"]


class RunRequest(Strict):
    full: bool = Field(True, description="The weekly full cycle; false: the quick cycle (catalog sync, plan, upgrade)")
    dry_run: bool = Field(False, description="A separate preview cycle that applies nothing")
    benchmarks: bool = Field(True, description="False skips the benchmark steps on purpose")


class RunAccepted(BaseModel):
    cycle_id: str
    kind: Literal["weekly", "quick"]
    action: Literal["started", "resumed", "running", "finished"]
    run: int
    steps: list[str] = Field(description="The steps this trigger enqueued (none when it started nothing)")
    dry_run: bool
    benchmarks: bool
    safe: bool | None = None
    finished_at: str | None = None
    report_path: str | None = None
    warning: str | None = Field(None, description="Set when no worker listens on a queue the cycle needs")


class JobAccepted(BaseModel):
    job_id: str
    task: str
    queue: str
    action: Literal["enqueued", "already_queued"]
    warning: str | None = None


class JobState(BaseModel):
    job_id: str
    task: str | None
    queue: str
    status: str
    enqueued_at: str | None
    started_at: str | None
    ended_at: str | None
    result: dict[str, Any] | None
    error: str | None


class ProposalList(BaseModel):
    proposals: list[dict[str, Any]]


class ApproveRequest(Strict):
    by: str = Field(min_length=1, max_length=100, pattern=NAME_PATTERN,
                    description="Who approves (recorded); with a named token, the token's name")
    note: str = Field("", max_length=2000, description="Why (recorded)")


class RejectRequest(Strict):
    model_config = ConfigDict(extra="forbid", strict=True, populate_by_name=True)
    by: str = Field(min_length=1, max_length=100, pattern=NAME_PATTERN,
                    description="Who rejects (recorded); with a named token, the token's name")
    reason: str = Field(min_length=1, max_length=2000, pattern=r"\S", validation_alias=AliasChoices("reason", "note"),
                        description="Why (recorded, required; `note` is accepted in its place)")


class Decided(BaseModel):
    id: str
    status: str
    by: str
    config_version: int | None
    token: str | None = Field(description="The name of the token that authenticated (recorded with the decision)")

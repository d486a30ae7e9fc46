"""The weekly report's data: what the Markdown shows and the JSON twin holds."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field


class StepLine(BaseModel):
    name: str
    status: str
    seconds: float | None = None
    reason: str = ""
    run: int | None = None


class Summary(BaseModel):
    models_added: int = 0
    models_removed: int = 0
    category_changes: int = 0
    findings: int = 0
    proposals_by_risk: dict[str, int] = Field(default_factory=dict)
    proposals_by_status: dict[str, int] = Field(default_factory=dict)
    applied: int = 0
    rolled_back: int = 0
    source_errors: int = 0


class Upgrade(BaseModel):
    proposal_id: str
    title: str
    risk: str
    target: str
    reason: str = ""
    evidence: list[str] = Field(default_factory=list)
    config_version: int | None = None


class ModelLine(BaseModel):
    model_id: str
    change: str
    field: str | None = None
    old: Any = None
    new: Any = None
    detail: str = ""


class CatalogSection(BaseModel):
    ran: bool
    note: str = ""
    added: list[ModelLine] = Field(default_factory=list)
    removed: list[ModelLine] = Field(default_factory=list)
    moves: list[ModelLine] = Field(default_factory=list)
    deprecations: list[ModelLine] = Field(default_factory=list)
    other: list[ModelLine] = Field(default_factory=list)


class BenchRow(BaseModel):
    model: str
    category: str
    before: float | None = None
    after: float | None = None

    @property
    def delta(self) -> float | None:
        return None if self.before is None or self.after is None else self.after - self.before


class RegressionLine(BaseModel):
    model: str
    category: str
    severity: str
    drop: float
    p_value: float | None = None
    metric: str = "score"
    phase: str = "pre"
    mde: float | None = None
    confirmed: bool = False

    @property
    def what(self) -> str:
        kind = {"score": "score", "latency_p95": "latency", "drift": "slow drift"}.get(self.metric, self.metric)
        after = " after the change" if self.phase == "verify" else ""
        return f"{kind}{after}" + (" (re-run)" if self.confirmed else "")


class BenchmarkSection(BaseModel):
    ran: bool
    note: str = ""
    rows: list[BenchRow] = Field(default_factory=list)
    regressions: list[RegressionLine] = Field(default_factory=list)
    trend: dict[str, list[tuple[str, float]]] = Field(default_factory=dict)
    chart: str | None = None


class FindingLine(BaseModel):
    title: str
    source: str
    url: str | None = None
    score: float | None = None
    proposals: list[str] = Field(default_factory=list)


class ResearchSection(BaseModel):
    ran: bool
    note: str = ""
    findings: list[FindingLine] = Field(default_factory=list)


class Waiting(BaseModel):
    proposal_id: str
    title: str
    risk: str
    reason: str = ""
    approve: str
    reject: str
    waiting_for: list[str] = Field(default_factory=list)  # promotion checks not met yet: not applied even if approved


class Metrics(BaseModel):
    total_seconds: float = 0.0
    steps: dict[str, float | None] = Field(default_factory=dict)
    sync_seconds: float | None = None
    upgrade_success_rate: float | None = None
    upgrades_considered: int = 0
    cycles_considered: int = 0


class SourceProblem(BaseModel):
    step: str
    source: str
    error_type: str
    message: str


class WeeklyReport(BaseModel):
    cycle_id: str
    kind: str
    dry_run: bool
    benchmarks: bool
    started_at: datetime
    generated_at: datetime
    safe: bool
    safety_reasons: list[str]
    safety_notes: list[str]
    steps: list[StepLine]
    summary: Summary
    top_upgrades: list[Upgrade]
    catalog: CatalogSection
    benchmark: BenchmarkSection
    research: ResearchSection
    waiting: list[Waiting]
    metrics: Metrics
    source_errors: list[SourceProblem] = Field(default_factory=list)
    truncated: list[str] = Field(default_factory=list)
    published: dict[str, Any] = Field(default_factory=dict)

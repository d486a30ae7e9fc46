"""Realistic entries for report tests: a SAFE week and an unsafe one, with three earlier weeks for trends."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from blackboard.cycles import CycleRecord
from blackboard.entries import (
    Applied,
    CatalogChange,
    CycleEvent,
    EntryBase,
    Finding,
    Measurement,
    Proposal,
    ProposalStatus,
    Regression,
    Risk,
    RolledBack,
    SourceError,
)
from blackboard.proposals import ProposalState
from reports.weekly import CycleHistory

NOW = datetime(2026, 11, 22, 3, 0, tzinfo=UTC)
STEPS = ["catalog_sync", "research_scan", "benchmark_pre", "plan", "upgrade", "verify", "report"]
HOSTILE_TITLE = "@everyone <script>alert(1)</script> [click](javascript:alert(1))"


def record(cycle_id: str = "2026-W47", at: datetime = NOW) -> CycleRecord:
    return CycleRecord(cycle_id=cycle_id, kind="weekly", created_at=at, run=1, run_steps=STEPS)


def events(cycle_id: str, failed: dict[str, str] | None = None) -> list[EntryBase]:
    out: list[EntryBase] = []
    for index, step in enumerate(STEPS[:-1]):
        reason = (failed or {}).get(step, "")
        out.append(CycleEvent(cycle_id=cycle_id, agent="cycle", created_at=NOW, step=step, run=1,
                              status="failed" if reason else "succeeded", seconds=1.5 + index, reason=reason))
    return out


def _base(cycle_id: str, agent: str) -> dict[str, object]:
    return {"cycle_id": cycle_id, "agent": agent, "created_at": NOW}


def week(cycle_id: str = "2026-W47") -> list[EntryBase]:
    c = cycle_id
    finding = Finding(**_base(c, "research"), source="arxiv", source_id="2611.01234", score=0.91,  # type: ignore[arg-type]
                      title="Self-consistency with adaptive sampling cuts math errors",
                      url="https://arxiv.org/abs/2611.01234")
    return [
        CatalogChange(**_base(c, "catalog"), source="openrouter", model_id="qwen/qwen-3.5-32b-instruct",  # type: ignore[arg-type]
                      change="added", details={"name": "Qwen 3.5 32B Instruct", "context_length": 131072,
                                               "pricing": {"prompt": "0.00000015", "completion": "0.0000006"},
                                               "modalities": ["text"]}),
        CatalogChange(**_base(c, "catalog"), source="openrouter", model_id="mistralai/mistral-7b-instruct-v0.1",  # type: ignore[arg-type]
                      change="removed", details={"reason": "absent for 30 days"}),
        CatalogChange(**_base(c, "catalog"), source="openrouter", model_id="openai/gpt-4o-mini",  # type: ignore[arg-type]
                      change="repriced", field="pricing.prompt", old="0.00000015", new="0.0000003",
                      details={"ratio": 2.0}),
        CatalogChange(**_base(c, "catalog"), source="openrouter", model_id="openai/gpt-4.1-nano",  # type: ignore[arg-type]
                      change="repriced", field="pricing.prompt", old="0.0000004", new="0.0000048",
                      details={"ratio": 12.0, "big_move": True}),
        CatalogChange(**_base(c, "catalog"), source="openrouter", model_id="anthropic/claude-3-haiku",  # type: ignore[arg-type]
                      change="deprecated", field="expiration_date", new="2026-12-31"),
        CatalogChange(**_base(c, "catalog"), source="openrouter", model_id="coding",  # type: ignore[arg-type]
                      change="ranking_changed", field="top10", old=["a/b"], new=["c/d"]),
        Measurement(**_base(c, "benchmark"), run_id="pre", model="openai/gpt-4o-mini", category="coding",  # type: ignore[arg-type]
                    metric="score", value=0.71, samples=164, details={"phase": "pre"}),
        Measurement(**_base(c, "benchmark"), run_id="verify", model="openai/gpt-4o-mini", category="coding",  # type: ignore[arg-type]
                    metric="score", value=0.74, samples=164, details={"phase": "verify"}),
        Measurement(**_base(c, "benchmark"), run_id="pre", model="qwen/qwen-3.5-32b-instruct", category="math",  # type: ignore[arg-type]
                    metric="score", value=0.83, samples=200, details={"phase": "pre"}),
        Regression(**_base(c, "benchmark"), model="openai/gpt-4o-mini", category="math", severity="alert",  # type: ignore[arg-type]
                   drop=0.04, p_value=0.03, baseline=0.8, current=0.768),
        finding,
        Proposal(**_base(c, "planner"), proposal_id="catalog-add-qwen-3.5-32b", title="Add Qwen 3.5 32B to the catalog",  # type: ignore[arg-type]
                 risk=Risk.LOW, risk_reason="new model, unrouted", target="catalog", reason="new on OpenRouter",
                 evidence=("catalog_change-1",)),
        Proposal(**_base(c, "planner"), proposal_id="route-math-qwen-3.5-32b", title="Route math to Qwen 3.5 32B",  # type: ignore[arg-type]
                 risk=Risk.MEDIUM, risk_reason="routing change", target="routing.math",
                 reason="scores 0.83 on math against 0.79 for the routed model", evidence=(finding.id,)),
        Applied(**_base(c, "upgrade"), proposal_id="catalog-add-qwen-3.5-32b", config_version=12,  # type: ignore[arg-type]
                parent_version=11, by="upgrade-agent"),
    ]


def unsafe_week(cycle_id: str = "2026-W47") -> list[EntryBase]:
    c = cycle_id
    return [*events(c, failed={"research_scan": "ConnectError: arxiv unreachable after 3 attempts"}), *week(c),
            Regression(**_base(c, "benchmark"), model="openai/gpt-4o-mini", category="coding",  # type: ignore[arg-type]
                       severity="critical", drop=0.12, p_value=0.001, baseline=0.8, current=0.7),
            RolledBack(**_base(c, "upgrade"), proposal_id="catalog-add-qwen-3.5-32b", from_version=12,  # type: ignore[arg-type]
                       to_version=11, by="upgrade-agent", reason="coding dropped 12% after the change"),
            SourceError(**_base(c, "research"), step="research_scan", source="arxiv", error_type="HTTP 503",  # type: ignore[arg-type]
                        message="Service Unavailable | retry later")]


def history() -> list[CycleHistory]:
    past = []
    for weeks_ago, (coding, math) in zip((3, 2, 1), ((0.66, 0.8), (0.69, 0.81), (0.7, 0.82)), strict=True):
        cycle_id = f"2026-W{47 - weeks_ago}"
        at = NOW - timedelta(days=7 * weeks_ago)
        entries: list[EntryBase] = [
            Measurement(**_base(cycle_id, "benchmark"), run_id="pre", model="openai/gpt-4o-mini",  # type: ignore[arg-type]
                        category="coding", metric="score", value=coding, details={"phase": "pre"}),
            Measurement(**_base(cycle_id, "benchmark"), run_id="pre", model="qwen/qwen-3.5-32b-instruct",  # type: ignore[arg-type]
                        category="math", metric="score", value=math, details={"phase": "pre"}),
            Applied(**_base(cycle_id, "upgrade"), proposal_id=f"p-{weeks_ago}", config_version=10 - weeks_ago,  # type: ignore[arg-type]
                    by="upgrade-agent"),
        ]
        past.append(CycleHistory(record(cycle_id, at), entries))
    return past


def pending() -> list[ProposalState]:
    return [ProposalState(proposal_id="route-math-qwen-3.5-32b", status=ProposalStatus.PENDING, risk=Risk.MEDIUM,
                          title="Route math to Qwen 3.5 32B", cycle_id="2026-W47", created_at=NOW, updated_at=NOW,
                          updated_by="planner", version=1)]

"""Builds the weekly report from a cycle's entries (and recent cycles, for trends and rates)."""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from statistics import mean

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
    RolledBack,
    SourceError,
    StepStatus,
)
from blackboard.proposals import ProposalState
from reports.markdown import safe_url
from reports.model import (
    BenchmarkSection,
    BenchRow,
    CatalogSection,
    FindingLine,
    Metrics,
    ModelLine,
    RegressionLine,
    ResearchSection,
    SourceProblem,
    StepLine,
    Summary,
    Upgrade,
    Waiting,
    WeeklyReport,
)
from reports.safety import assess, step_outcomes

RISK_ORDER = {"HIGH": 0, "MEDIUM": 1, "LOW": 2}
CATALOG_GROUPS = {"added": "added", "removed": "removed", "inactive": "removed", "repriced": "moves",
                  "context_changed": "moves", "max_tokens_changed": "moves", "deprecated": "deprecations"}
TOP_FINDINGS = 10


@dataclass
class CycleHistory:
    """An earlier cycle's record and entries (for trends and success rates)."""

    record: CycleRecord
    entries: Sequence[EntryBase] = field(default_factory=list)


def _of(entries: Sequence[EntryBase], kind: type[EntryBase]) -> list:  # type: ignore[type-arg]
    return [entry for entry in entries if isinstance(entry, kind)]


def _ran(outcomes: dict[str, CycleEvent], step: str) -> tuple[bool, str]:
    event = outcomes.get(step)
    if event is None:
        return False, "did not finish"
    if event.status == StepStatus.SUCCEEDED:
        return True, ""
    if event.status == StepStatus.FAILED:
        return False, f"failed: {event.reason}"
    return False, event.reason or event.status.value


def _detail(change: CatalogChange) -> str:
    details = change.details
    flags = [label for key, label in (("big_move", "over 10x"), ("crosses_zero", "free/paid switch"),
                                      ("shrink", "shrink"), ("router", "router price"), ("degraded", "degraded"))
             if details.get(key)]
    parts = [f"x{details['ratio']:g}"] if isinstance(details.get("ratio"), (int, float)) else []
    parts += [f"FLAG {flag}" for flag in flags]
    for key in ("name", "context_length", "modalities", "pricing", "replacement", "expiration_date", "reason"):
        if key in details and details[key] not in (None, "", [], {}):
            value = details[key]
            if isinstance(value, dict):
                value = ", ".join(f"{k} {v}" for k, v in sorted(value.items()))
            elif isinstance(value, list):
                value = "+".join(str(v) for v in value)
            parts.append(f"{key.replace('_', ' ')}: {value}")
    return "; ".join(parts)


def catalog_section(entries: Sequence[EntryBase], outcomes: dict[str, CycleEvent]) -> CatalogSection:
    ran, note = _ran(outcomes, "catalog_sync")
    section = CatalogSection(ran=ran, note=note)
    for change in _of(entries, CatalogChange):
        line = ModelLine(model_id=change.model_id, change=change.change, field=change.field, old=change.old,
                         new=change.new, detail=_detail(change))
        getattr(section, CATALOG_GROUPS.get(change.change, "other")).append(line)
    return section


def _score_by_category(entries: Sequence[EntryBase]) -> dict[str, float]:
    values: dict[str, list[float]] = defaultdict(list)
    for m in _of(entries, Measurement):
        if m.metric == "score" and m.details.get("phase", "pre") == "pre":
            values[m.category].append(m.value)
    return {category: mean(scores) for category, scores in values.items()}


def benchmark_section(entries: Sequence[EntryBase], outcomes: dict[str, CycleEvent],
                      history: Sequence[CycleHistory], record: CycleRecord) -> BenchmarkSection:
    ran, note = _ran(outcomes, "benchmark_pre")
    rows: dict[tuple[str, str], BenchRow] = {}
    for m in _of(entries, Measurement):
        if m.metric != "score":
            continue
        row = rows.setdefault((m.model, m.category), BenchRow(model=m.model, category=m.category))
        if m.details.get("phase", "pre") == "verify":
            row.after = m.value
        else:
            row.before = m.value
    regressions = [RegressionLine(model=r.model, category=r.category, severity=r.severity.value, drop=r.drop,
                                  p_value=r.p_value, metric=r.metric, phase=r.phase,
                                  mde=r.details.get("mde") if isinstance(r.details.get("mde"), float) else None,
                                  confirmed=r.details.get("confirmed") is True)
                   for r in _of(entries, Regression)]
    trend: dict[str, list[tuple[str, float]]] = defaultdict(list)
    for past in [*sorted(history, key=lambda h: h.record.created_at), CycleHistory(record, entries)]:
        for category, score in sorted(_score_by_category(past.entries).items()):
            trend[category].append((past.record.cycle_id, round(score, 4)))
    return BenchmarkSection(ran=ran, note=note, rows=sorted(rows.values(), key=lambda r: (r.category, r.model)),
                            regressions=sorted(regressions, key=lambda r: -r.drop), trend=dict(trend))


def research_section(entries: Sequence[EntryBase], outcomes: dict[str, CycleEvent]) -> ResearchSection:
    ran, note = _ran(outcomes, "research_scan")
    proposals = _of(entries, Proposal)
    findings = sorted(_of(entries, Finding), key=lambda f: (f.score is None, -(f.score or 0.0), f.title))
    lines = [FindingLine(title=f.title, source=f.source, url=safe_url(f.url), score=f.score,
                         proposals=[p.title for p in proposals if f.id in p.evidence])
             for f in findings[:TOP_FINDINGS]]
    return ResearchSection(ran=ran, note=note, findings=lines)


def display_id(proposal_id: str) -> str:
    """A proposal id safe to show in a code span (ids hold model ids, which strangers write): anything but letters,
    digits and ``._:/>+=-`` becomes ``_``. `improve approve` accepts this form too."""
    return re.sub(r"[^A-Za-z0-9._:/>+=-]", "_", proposal_id)[:160]


def waiting_for_you(entries: Sequence[EntryBase], states: Sequence[ProposalState],
                    latest: Mapping[str, Proposal] | None = None) -> list[Waiting]:
    """Pending proposals, most dangerous first, with their latest reason and the checks a promotion waits for."""
    known = {**(latest or {}), **{p.proposal_id: p for p in _of(entries, Proposal)}}
    reasons = {pid: p.reason or p.risk_reason for pid, p in known.items()}
    checks = {pid: [str(w) for w in p.change.get("waiting_for") or [] if isinstance(w, str)]
              for pid, p in known.items() if isinstance(p.change.get("waiting_for"), list)}
    waiting = []
    for state in sorted(states, key=lambda s: (RISK_ORDER.get(s.risk.value, 3), s.created_at)):
        if state.status != ProposalStatus.PENDING:
            continue
        shown = display_id(state.proposal_id)
        waiting.append(Waiting(proposal_id=shown, title=state.title, risk=state.risk.value,
                               reason=reasons.get(state.proposal_id, ""),
                               approve=f"improve approve {shown} --by YOUR_NAME",
                               reject=f'improve reject {shown} --by YOUR_NAME --reason "..."',
                               waiting_for=checks.get(state.proposal_id, [])))
    return waiting


def top_upgrades(entries: Sequence[EntryBase]) -> list[Upgrade]:
    proposals = {p.proposal_id: p for p in _of(entries, Proposal)}
    upgrades = []
    for applied in _of(entries, Applied):
        if applied.dry_run:
            continue
        proposal = proposals.get(applied.proposal_id)
        upgrades.append(Upgrade(
            proposal_id=display_id(applied.proposal_id), title=proposal.title if proposal else applied.proposal_id,
            risk=proposal.risk.value if proposal else "LOW", target=proposal.target if proposal else "",
            reason=proposal.reason if proposal else "", config_version=applied.config_version,
            evidence=list(proposal.evidence if proposal else applied.evidence)))
    upgrades.sort(key=lambda u: (RISK_ORDER.get(u.risk, 3), -len(u.evidence), u.title))
    return upgrades[:3]


def metrics(lines: list[StepLine], entries: Sequence[EntryBase], history: Sequence[CycleHistory]) -> Metrics:
    applied = rolled_back = 0
    for cycle_entries in [*(past.entries for past in history), entries]:
        applied += sum(1 for a in _of(cycle_entries, Applied) if not a.dry_run)
        rolled_back += len(_of(cycle_entries, RolledBack))
    seconds = {line.name: line.seconds for line in lines}
    return Metrics(total_seconds=round(sum(s or 0.0 for s in seconds.values()), 3), steps=seconds,
                   sync_seconds=seconds.get("catalog_sync"), upgrades_considered=applied,
                   upgrade_success_rate=round(1 - rolled_back / applied, 4) if applied else None,
                   cycles_considered=len(history) + 1)


def build_report(
    record: CycleRecord,
    entries: Sequence[EntryBase],
    steps: Sequence[str],
    generated_at: datetime,
    pending: Sequence[str] = (),
    history: Sequence[CycleHistory] = (),
    proposals: Sequence[ProposalState] = (),
    latest: Mapping[str, Proposal] | None = None,
) -> WeeklyReport:
    safety = assess(entries, steps, pending=pending)
    outcomes = step_outcomes(entries)
    lines = []
    for step in steps:
        event = outcomes.get(step)
        if step in pending:
            lines.append(StepLine(name=step, status="running", reason="rendering this report"))
        elif event is None:
            lines.append(StepLine(name=step, status="did not finish"))
        else:
            lines.append(StepLine(name=step, status=event.status.value, seconds=event.seconds,
                                  reason=event.reason, run=event.run))
    catalog = catalog_section(entries, outcomes)
    own: list[Proposal] = _of(entries, Proposal)
    states = {state.proposal_id: state for state in proposals}
    summary = Summary(
        models_added=len(catalog.added), models_removed=len(catalog.removed),
        category_changes=sum(1 for c in _of(entries, CatalogChange) if c.change.startswith(("ranking", "category"))),
        findings=len(_of(entries, Finding)),
        proposals_by_risk=dict(sorted(Counter(p.risk.value for p in own).items())),
        proposals_by_status=dict(sorted(Counter(
            states[p.proposal_id].status.value if p.proposal_id in states else "pending" for p in own).items())),
        applied=sum(1 for a in _of(entries, Applied) if not a.dry_run), rolled_back=len(_of(entries, RolledBack)),
        source_errors=len(_of(entries, SourceError)),
    )
    errors = [SourceProblem(step=e.step, source=e.source, error_type=e.error_type, message=e.message)
              for e in _of(entries, SourceError)]
    return WeeklyReport(
        cycle_id=record.cycle_id, kind=record.kind, dry_run=record.dry_run, benchmarks=record.benchmarks,
        started_at=record.created_at, generated_at=generated_at, safe=safety.safe,
        safety_reasons=safety.reasons, safety_notes=safety.notes, steps=lines, summary=summary,
        top_upgrades=top_upgrades(entries), catalog=catalog,
        benchmark=benchmark_section(entries, outcomes, history, record),
        research=research_section(entries, outcomes), waiting=waiting_for_you(entries, proposals, latest),
        metrics=metrics(lines, entries, history), source_errors=errors,
    )

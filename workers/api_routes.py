"""The HTTP API's endpoints: trigger and follow cycles, enqueue syncs and scans, read reports, decide proposals."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Annotated, Any

import redis
from fastapi import APIRouter, Body, Depends, HTTPException, Query, Request, Response, Security
from fastapi import Path as PathParameter
from fastapi.responses import JSONResponse
from rq.job import Job

from blackboard.cycles import CycleKind, CycleRecord
from blackboard.entries import ProposalStatus
from blackboard.errors import TransitionError, UnknownRecord
from blackboard.redaction import redact
from reports.render import render_markdown
from workers.api_auth import Caller, authenticate, check_approver
from workers.api_jobs import QUEUE_OF, Task, describe_job, enqueue_task
from workers.api_models import (
    ApproveRequest,
    Decided,
    ErrorBody,
    Health,
    JobAccepted,
    JobState,
    ProposalList,
    RejectRequest,
    RunAccepted,
    RunRequest,
    ValidationErrors,
)
from workers.conductor import live_queues
from workers.dag import steps_for
from workers.decisions import decide, listed
from workers.runtime import Runtime
from workers.status import gather
from workers.steps import cycle_report
from workers.trigger import trigger, wanted_cycle

logger = logging.getLogger(__name__)
INVALID: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorBody, "description": "The body is not readable (not UTF-8 JSON)"},
    422: {"model": ValidationErrors, "description": "Invalid parameters or body, or an unknown query parameter"}}
ERRORS: dict[int | str, dict[str, Any]] = {
    **INVALID, 401: {"model": ErrorBody, "description": "No bearer token, or a wrong one"},
    413: {"model": ErrorBody, "description": "The request body is too large"},
    503: {"model": ErrorBody, "description": "Redis does not answer"},
}
NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"model": ErrorBody, "description": "No such thing"}}
DECISION_ERRORS: dict[int | str, dict[str, Any]] = {
    **NOT_FOUND, 403: {"model": ErrorBody, "description": "A named token may only decide under its own name"},
    409: {"model": ErrorBody, "description": "The proposal's status does not allow it (decided already)"}}
REPORT_TYPES = {"application/json": "json", "text/markdown": "markdown", "text/*": "markdown", "*/*": "markdown"}


def runtime_of(request: Request) -> Runtime:
    found: Runtime = request.app.state.runtime
    return found


RuntimeDep = Annotated[Runtime, Depends(runtime_of)]
CallerDep = Annotated[Caller, Security(authenticate)]
public = APIRouter(prefix="/api")
private = APIRouter(prefix="/api", dependencies=[Security(authenticate)], responses=ERRORS)


@public.get("/health", response_model=Health, responses={**INVALID, 503: {"model": Health}}, tags=["health"])
def health(runtime: RuntimeDep) -> Any:
    """Whether Redis answers (no authentication)."""
    try:
        runtime.connections.board.ping()
    except redis.RedisError:
        return JSONResponse({"status": "unavailable", "redis": "unreachable"}, status_code=503)
    return {"status": "ok", "redis": "ok"}


def unserved_warning(runtime: Runtime, queues: set[str]) -> str | None:
    missing = sorted(queues - set(live_queues(runtime)))
    if not missing:
        return None
    return (f"no worker listens on {', '.join(missing)}: the work waits there until one does "
            f"(improve worker --queues {','.join(missing)})")


@private.post("/weekly/run", status_code=202, response_model=RunAccepted, tags=["cycles"])
def run_cycle(runtime: RuntimeDep, body: Annotated[RunRequest | None, Body()] = None) -> Any:
    """Trigger this period's cycle on the workers (enqueue only); a running one is followed, a finished one kept."""
    options = body or RunRequest()
    kind: CycleKind = "weekly" if options.full else "quick"
    wanted = wanted_cycle(runtime, kind, dry_run=options.dry_run, benchmarks=options.benchmarks)
    started = trigger(runtime, wanted, "workers")
    record: CycleRecord = started.record
    logger.info("cycle %s (%s): %s via the HTTP API", record.cycle_id, kind, started.action)
    warning = None if started.action == "finished" else unserved_warning(
        runtime, {step.queue for step in steps_for(kind)})
    return {"cycle_id": record.cycle_id, "kind": record.kind, "action": started.action, "run": record.run,
            "steps": started.steps, "dry_run": record.dry_run, "benchmarks": record.benchmarks, "safe": record.safe,
            "finished_at": record.finished_at.isoformat() if record.finished_at else None,
            "report_path": record.report_path, "warning": warning}


@private.get("/weekly/status", tags=["cycles"])
def cycle_status(runtime: RuntimeDep, limit: Annotated[int, Query(ge=1, le=100)] = 10) -> dict[str, Any]:
    """What `improve status --json` shows: recent cycles, what runs, queues, workers, schedules, approvals."""
    return gather(runtime, limit)


def accepted(runtime: Runtime, task: Task) -> dict[str, Any]:
    job, new = enqueue_task(runtime, task)
    logger.info("%s: %s job %s via the HTTP API", task, "enqueued" if new else "already queued", job.id)
    return {"job_id": job.id, "task": task, "queue": QUEUE_OF[task], "action": "enqueued" if new else "already_queued",
            "warning": unserved_warning(runtime, {QUEUE_OF[task]})}


@private.post("/catalog/sync", status_code=202, response_model=JobAccepted, tags=["jobs"])
def catalog_sync(runtime: RuntimeDep, full: Annotated[bool, Query(description="The full sync")] = False) -> Any:
    """Enqueue a catalog sync on the `catalog` queue (default: the quick health sync; `?full=1`: the full one)."""
    return accepted(runtime, "catalog-sync-full" if full else "catalog-sync-quick")


@private.post("/research/scan", status_code=202, response_model=JobAccepted, tags=["jobs"])
def research_scan(runtime: RuntimeDep) -> Any:
    """Enqueue a research scan (arXiv, feeds, Hub releases) on the `research` queue."""
    return accepted(runtime, "research-scan")


@private.get("/jobs/{job_id}", response_model=JobState, responses=NOT_FOUND, tags=["jobs"])
def job_state(runtime: RuntimeDep, job_id: Annotated[str, PathParameter(max_length=200)]) -> Any:
    """A sync or scan job this API enqueued: its status and, once finished, its result."""
    job = Job.fetch_many([job_id], connection=runtime.connections.rq)[0]
    if job is None or not job.meta.get("api_task"):
        raise HTTPException(status_code=404, detail="no such job of the HTTP API (it may have expired)")
    found = describe_job(job)
    if found["error"]:
        found["error"] = redact(found["error"], runtime.settings.secrets())
    return found


def latest_weekly(runtime: Runtime) -> CycleRecord | None:
    """The newest real (not dry-run) weekly cycle that has a report."""
    return next((r for r in runtime.cycles.recent(100) if r.kind == "weekly" and not r.dry_run and r.report_path),
                None)


def written_report(runtime: Runtime, record: CycleRecord, suffix: str) -> str | None:
    """The report file the report step wrote, if this host sees it inside the report folder."""
    if not record.report_path:
        return None
    folder = runtime.settings.report_dir.resolve()
    path = Path(record.report_path).with_suffix(suffix).resolve()
    if not path.is_relative_to(folder) or not path.is_file():
        return None
    return path.read_text(encoding="utf-8")


def preferred_format(accept: str | None) -> str | None:
    """`json` or `markdown` by the Accept header (highest q first; no header: Markdown), None if neither fits."""
    if not accept or not accept.strip():
        return "markdown"
    offers: list[tuple[float, int, str]] = []
    for index, part in enumerate(accept.split(",")):
        media, *params = [piece.strip() for piece in part.split(";")]
        quality = 1.0
        for param in params:
            name, _, value = param.partition("=")
            if name.strip().lower() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        if media.lower() in REPORT_TYPES and quality > 0:
            offers.append((-quality, index, REPORT_TYPES[media.lower()]))
    return min(offers)[2] if offers else None


@private.get("/reports/latest", tags=["reports"], responses={
    200: {"description": "The latest weekly report", "content": {
        "text/markdown": {"schema": {"type": "string"}}, "application/json": {"schema": {"type": "object"}}}},
    404: {"model": ErrorBody, "description": "No weekly report yet"},
    406: {"model": ErrorBody, "description": "Accept names neither Markdown nor JSON"}})
def latest_report(runtime: RuntimeDep, request: Request) -> Response:
    """The latest weekly cycle's report: Markdown, or its JSON twin with `Accept: application/json`."""
    wanted = preferred_format(request.headers.get("accept"))
    if wanted is None:
        raise HTTPException(status_code=406, detail="this report is text/markdown or application/json")
    record = latest_weekly(runtime)
    if record is None:
        raise HTTPException(status_code=404, detail="no weekly report yet (trigger a cycle: POST /api/weekly/run)")
    text = written_report(runtime, record, ".json" if wanted == "json" else ".md")
    source = "file" if text is not None else "blackboard"
    if text is None:  # the report step ran on another host: render it again from the blackboard
        report = cycle_report(runtime, record)
        text = json.dumps(report.model_dump(mode="json"), indent=2) if wanted == "json" else render_markdown(report)
    media = "application/json" if wanted == "json" else "text/markdown; charset=utf-8"
    return Response(text, media_type=media, headers={"X-Cycle-Id": record.cycle_id, "X-Report-Source": source,
                                                     "Vary": "Accept"})


@private.get("/proposals", response_model=ProposalList, tags=["proposals"])
def proposals(runtime: RuntimeDep, status: Annotated[list[ProposalStatus] | None, Query()] = None) -> Any:
    """Proposals in the given statuses (repeat `status`; default: every open one), as `improve proposals`."""
    return {"proposals": listed(runtime, status or None)}


def _decide(runtime: Runtime, caller: Caller, proposal_id: str, by: str, note: str, approve: bool,
            apply_now: bool) -> dict[str, Any]:
    check_approver(caller, by)
    recorded = f"{note.strip()} [{caller.via}]" if note.strip() else f"[{caller.via}]"
    try:
        data = decide(runtime, proposal_id, by.strip(), recorded, approve, apply_now)
    except UnknownRecord:
        raise HTTPException(status_code=404, detail="no such proposal") from None
    except TransitionError as exc:
        raise HTTPException(status_code=409, detail=str(exc)) from None
    logger.info("proposal %s %s by %s (%s)", proposal_id, data["status"], by.strip(), caller.via)
    return {**data, "token": caller.token}


ProposalId = Annotated[str, PathParameter(min_length=1, max_length=200)]


@private.post("/proposals/{proposal_id}/approve", response_model=Decided, responses=DECISION_ERRORS,
              tags=["proposals"])
def approve(runtime: RuntimeDep, caller: CallerDep, proposal_id: ProposalId, body: ApproveRequest,
            apply_now: Annotated[bool, Query(description="Apply it now, not at the next upgrade step")] = False) -> Any:
    """Approve a gated proposal (recorded with the caller's name and token)."""
    return _decide(runtime, caller, proposal_id, body.by, body.note, True, apply_now)


@private.post("/proposals/{proposal_id}/reject", response_model=Decided, responses=DECISION_ERRORS,
              tags=["proposals"])
def reject(runtime: RuntimeDep, caller: CallerDep, proposal_id: ProposalId, body: RejectRequest) -> Any:
    """Reject a proposal; a reason is required (the same change proposed again stays rejected)."""
    return _decide(runtime, caller, proposal_id, body.by, body.reason, False, False)

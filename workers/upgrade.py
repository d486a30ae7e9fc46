"""The upgrade agent: applies approved proposals to the live configuration one at a time, and rolls them back.

Each apply is a compare-and-set on the config version: a change computed against an old version is applied again to
the new one (its ops are idempotent and check what they replace), and one whose preconditions no longer hold is
superseded, never forced. The version before an apply is its backup; rollback is a new version.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import Any

from agents.patches import PatchConflict, apply_patch, revert
from blackboard.entries import Applied, Proposal, ProposalStatus, RolledBack
from blackboard.errors import TransitionConflict, TransitionError
from blackboard.lease import Lease
from blackboard.live_config import StaleConfigVersion
from workers.configuration import current_config, export_current, proposal_entry, store_of
from workers.runtime import Runtime

logger = logging.getLogger(__name__)
S = ProposalStatus
ATTEMPTS = 3
LOCK_WAIT = 60.0


@dataclass
class ApplyOutcome:
    proposal_id: str
    status: str  # applied, superseded, waiting, raced, dry_run, unknown
    config_version: int | None = None
    note: str = ""

    def to_json(self) -> dict[str, Any]:
        return {"id": self.proposal_id, "status": self.status, "config_version": self.config_version,
                "note": self.note}


@dataclass
class UpgradeOutcome:
    outcomes: list[ApplyOutcome] = field(default_factory=list)
    export_path: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {"applied": [o.proposal_id for o in self.outcomes if o.status == "applied"],
                "outcomes": [o.to_json() for o in self.outcomes], "export_path": self.export_path}


class UpgradeLock:
    """One upgrade at a time across every worker and command."""

    def __init__(self, runtime: Runtime) -> None:
        ttl = int(max(runtime.settings.lease_seconds, 5.0) * 1000)
        self.lease = Lease(runtime.connections.board, runtime.keys.upgrade_lock(), ttl, holder="upgrade")

    def __enter__(self) -> UpgradeLock:
        deadline = time.monotonic() + LOCK_WAIT
        while not self.lease.acquire():
            if time.monotonic() > deadline:
                raise TimeoutError("another upgrade held the lock for over a minute")
            time.sleep(0.05)
        self.lease.keep_alive()
        return self

    def __exit__(self, *exc: object) -> None:
        self.lease.release()


def apply_proposal(runtime: Runtime, cycle_id: str, proposal: Proposal, by: str) -> ApplyOutcome:
    """Apply one approved proposal (call it under the UpgradeLock); idempotent if it was applied already."""
    pid, store, now = proposal.proposal_id, store_of(runtime), runtime.clock.now()
    waiting = proposal.change.get("waiting_for")
    if isinstance(waiting, list) and waiting:
        return ApplyOutcome(pid, "waiting", note="waiting for " + "; ".join(str(w) for w in waiting))
    patch = proposal.change.get("patch")
    ops = [op for op in patch if isinstance(op, dict)] if isinstance(patch, list) else []
    version = current_config(runtime)  # seeds version 1 if there is none yet
    assert version is not None
    for _ in range(ATTEMPTS):
        current = store.current()
        assert current is not None
        if not ops:  # advisory (research): recorded, nothing in the configuration changes
            version = current
            break
        try:
            changed = apply_patch(current.config, ops)
        except PatchConflict as exc:
            _move(runtime, pid, S.SUPERSEDED, by, f"re-planned: {exc}")
            return ApplyOutcome(pid, "superseded", current.version, f"the configuration moved on: {exc}")
        try:
            version = store.commit(changed, expected_version=current.version, by=by, reason=proposal.title,
                                   proposal_id=pid, evidence=(proposal.id, *proposal.evidence))
            break
        except StaleConfigVersion:
            continue  # someone committed first: apply again to the version they made
    else:
        return ApplyOutcome(pid, "raced", None, "the configuration kept changing; try again")
    # the fact first, then the status: a worker killed in between leaves a proposal still approved, and the next
    # upgrade re-commits nothing (the config holds the change already) and re-posts the same fact (deduplicated)
    parent = version.parent if ops and version.proposal_id == pid else version.version
    runtime.board.post(Applied(cycle_id=cycle_id, agent="upgrade", created_at=now, proposal_id=pid,
                               config_version=version.version, parent_version=parent, by=by,
                               evidence=(proposal.id,)))
    try:
        _move(runtime, pid, S.APPLIED, by, f"version {version.version}", strict=True)
    except TransitionConflict:
        return ApplyOutcome(pid, "raced", version.version, "someone else applied it")
    note = "advisory: nothing in the configuration changes" if not ops else f"version {version.version}"
    return ApplyOutcome(pid, "applied", version.version, note)


def _move(runtime: Runtime, pid: str, to: ProposalStatus, by: str, note: str, strict: bool = False) -> None:
    try:
        runtime.proposals.move(pid, to, by, runtime.clock.now(), note=note)
    except TransitionError:
        if strict:
            raise TransitionConflict(f"proposal {pid} could not become {to}") from None
        logger.info("proposal %s could not become %s", pid, to)


def upgrade(runtime: Runtime, cycle_id: str, *, low_only: bool = False, dry_run: bool = False) -> UpgradeOutcome:
    """Apply every auto-approved (LOW) and approved proposal, oldest decision first."""
    outcome = UpgradeOutcome()
    ready = runtime.proposals.with_status(S.AUTO_APPROVED)
    if not low_only:
        ready += runtime.proposals.with_status(S.APPROVED)
    ready.sort(key=lambda state: (state.updated_at, state.proposal_id))
    if dry_run:
        outcome.outcomes = [ApplyOutcome(s.proposal_id, "dry_run", note="dry run: nothing applied") for s in ready]
        return outcome
    with UpgradeLock(runtime):
        for state in ready:
            proposal = proposal_entry(runtime, state.proposal_id)
            if proposal is None:
                outcome.outcomes.append(ApplyOutcome(state.proposal_id, "unknown", note="no proposal entry found"))
                continue
            outcome.outcomes.append(apply_proposal(runtime, cycle_id, proposal, state.updated_by or "upgrade"))
        path = export_current(runtime)
    outcome.export_path = str(path) if path else None
    return outcome


def roll_back(runtime: Runtime, cycle_id: str, applied: Applied, by: str, reason: str,
              evidence: tuple[str, ...] = ()) -> RolledBack | None:
    """Undo one applied proposal on top of whatever came after it (a new version); None if nothing to undo."""
    store = store_of(runtime)
    if applied.parent_version is None or applied.parent_version == applied.config_version:
        return None
    before, after = store.get(applied.parent_version), store.get(applied.config_version)
    if before is None or after is None:
        raise LookupError(f"versions {applied.parent_version}/{applied.config_version} are missing")
    with UpgradeLock(runtime):
        for _ in range(ATTEMPTS):
            current = store.current()
            assert current is not None
            restored = revert(current.config, before.config, after.config)
            try:
                version = store.commit(restored, expected_version=current.version, by=by,
                                       reason=f"rollback of {applied.proposal_id}: {reason}",
                                       proposal_id=applied.proposal_id, evidence=(applied.id, *evidence))
                break
            except StaleConfigVersion:
                continue
        else:
            raise TimeoutError("the configuration kept changing during a rollback")
        _move(runtime, applied.proposal_id, S.ROLLED_BACK, by, reason)
        export_current(runtime)
    entry = RolledBack(cycle_id=cycle_id, agent="upgrade", created_at=runtime.clock.now(),
                       proposal_id=applied.proposal_id, from_version=current.version, to_version=version.version,
                       by=by, reason=reason[:500], evidence=(applied.id, *evidence))
    runtime.board.post(entry)
    return entry

"""Proposal status records: one hash per proposal, moved only by compare-and-set along allowed transitions."""

from __future__ import annotations

import json
from datetime import datetime

import redis
from pydantic import BaseModel

from blackboard.entries import ProposalStatus, Risk
from blackboard.errors import InvalidTransition, TransitionConflict, UnknownRecord
from blackboard.keys import Keys

S = ProposalStatus
TRANSITIONS: dict[ProposalStatus, frozenset[ProposalStatus]] = {
    S.PENDING: frozenset({S.AUTO_APPROVED, S.APPROVED, S.REJECTED, S.SUPERSEDED}),
    S.AUTO_APPROVED: frozenset({S.APPLIED, S.REJECTED, S.SUPERSEDED}),
    S.APPROVED: frozenset({S.APPLIED, S.REJECTED, S.SUPERSEDED}),
    S.APPLIED: frozenset({S.ROLLED_BACK, S.SUPERSEDED}),
    S.REJECTED: frozenset({S.PENDING}),
    S.ROLLED_BACK: frozenset({S.PENDING}),
    S.SUPERSEDED: frozenset(),
}

_CREATE = """
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], 'proposal_id', ARGV[1], 'status', ARGV[2], 'risk', ARGV[3], 'title', ARGV[4],
           'cycle_id', ARGV[5], 'created_at', ARGV[6], 'updated_at', ARGV[6], 'updated_by', ARGV[7], 'version', 1)
redis.call('ZADD', KEYS[2], ARGV[8], ARGV[1])
redis.call('RPUSH', KEYS[3], ARGV[9])
return 1
"""

# KEYS: record, history, zset of the new status, then one zset per expected status (same order as ARGV[7..]).
_TRANSITION = """
local current = redis.call('HGET', KEYS[1], 'status')
if not current then return {-1, ''} end
for i = 7, #ARGV do
  if ARGV[i] == current then
    redis.call('HSET', KEYS[1], 'status', ARGV[1], 'updated_by', ARGV[2], 'updated_at', ARGV[3])
    redis.call('HINCRBY', KEYS[1], 'version', 1)
    redis.call('ZREM', KEYS[i - 3], ARGV[6])
    redis.call('ZADD', KEYS[3], ARGV[4], ARGV[6])
    redis.call('RPUSH', KEYS[2], ARGV[5])
    return {1, current}
  end
end
return {0, current}
"""


class ProposalState(BaseModel):
    proposal_id: str
    status: ProposalStatus
    risk: Risk
    title: str
    cycle_id: str
    created_at: datetime
    updated_at: datetime
    updated_by: str
    version: int


class ProposalBook:
    """Where each proposal stands; two approvers (or two workers) can never both move the same one."""

    def __init__(self, client: redis.Redis, keys: Keys) -> None:
        self.client = client
        self.keys = keys
        self._create = client.register_script(_CREATE)
        self._transition = client.register_script(_TRANSITION)

    def open(self, proposal_id: str, risk: Risk, title: str, cycle_id: str, by: str, at: datetime) -> bool:
        """Record a new pending proposal; false if it is already recorded."""
        history = json.dumps({"status": S.PENDING, "by": by, "at": at.isoformat(), "note": "proposed"})
        keys = [self.keys.proposal(proposal_id), self.keys.proposals_by_status(S.PENDING),
                self.keys.proposal_history(proposal_id)]
        args: list[str | float] = [proposal_id, S.PENDING, risk, title, cycle_id, at.isoformat(), by,
                                   at.timestamp(), history]
        return bool(self._create(keys=keys, args=args))

    def get(self, proposal_id: str) -> ProposalState | None:
        data = self.client.hgetall(self.keys.proposal(proposal_id))
        return ProposalState.model_validate(data) if data else None

    def move(
        self,
        proposal_id: str,
        to: ProposalStatus,
        by: str,
        at: datetime,
        expected: ProposalStatus | None = None,
        note: str = "",
    ) -> ProposalState:
        """Move a proposal to ``to`` if it is in ``expected`` (default: any state allowed to move there)."""
        sources = [s for s, targets in TRANSITIONS.items() if to in targets]
        if expected is not None:
            if expected not in sources:
                raise InvalidTransition(f"{expected} -> {to} is not an allowed transition")
            sources = [expected]
        history = json.dumps({"status": to, "by": by, "at": at.isoformat(), "note": note})
        keys = [self.keys.proposal(proposal_id), self.keys.proposal_history(proposal_id),
                self.keys.proposals_by_status(to), *[self.keys.proposals_by_status(s) for s in sources]]
        args: list[str | float] = [to, by, at.isoformat(), at.timestamp(), history, proposal_id, *sources]
        outcome, current = self._transition(keys=keys, args=args)
        if int(outcome) == -1:
            raise UnknownRecord(f"no proposal {proposal_id}")
        if int(outcome) == 0:
            if ProposalStatus(current) == to:
                raise TransitionConflict(f"proposal {proposal_id} is already {to}")
            if expected is None:
                raise InvalidTransition(f"proposal {proposal_id} is {current}; it cannot become {to}")
            raise TransitionConflict(f"proposal {proposal_id} is {current}, not {expected}")
        state = self.get(proposal_id)
        assert state is not None
        return state

    def with_status(self, status: ProposalStatus) -> list[ProposalState]:
        ids = self.client.zrange(self.keys.proposals_by_status(status), 0, -1)
        return [state for pid in ids if (state := self.get(str(pid))) is not None]

    def history(self, proposal_id: str) -> list[dict[str, str]]:
        return [json.loads(item) for item in self.client.lrange(self.keys.proposal_history(proposal_id), 0, -1)]

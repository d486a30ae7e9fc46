"""The shared kernel: entry types, keys, the store, status records, cycle records, leases and the clock."""

from blackboard.clock import Clock, parse_instant, quick_cycle_id, weekly_cycle_id
from blackboard.cycles import CycleBook, CycleRecord
from blackboard.entries import (
    KINDS,
    Applied,
    CatalogChange,
    CycleEvent,
    Decision,
    EntryBase,
    Finding,
    Measurement,
    Proposal,
    ProposalStatus,
    Regression,
    Risk,
    RolledBack,
    Severity,
    SkipReason,
    SourceError,
    StepStatus,
)
from blackboard.errors import (
    BlackboardError,
    EntryDecodeError,
    InvalidTransition,
    StoreUnavailable,
    TransitionConflict,
    TransitionError,
    UnknownRecord,
)
from blackboard.keys import Keys
from blackboard.lease import Lease
from blackboard.proposals import ProposalBook, ProposalState
from blackboard.redaction import redact
from blackboard.store import Blackboard, Delivery, Posted, TrimReport

__all__ = [
    "KINDS", "Applied", "Blackboard", "BlackboardError", "CatalogChange", "Clock", "CycleBook", "CycleEvent",
    "CycleRecord", "Decision", "Delivery", "EntryBase", "EntryDecodeError", "Finding", "InvalidTransition", "Keys",
    "Lease", "Measurement", "Posted", "Proposal", "ProposalBook", "ProposalState", "ProposalStatus", "Regression",
    "Risk", "RolledBack", "Severity", "SkipReason", "SourceError", "StepStatus", "StoreUnavailable",
    "TransitionConflict", "TransitionError", "TrimReport", "UnknownRecord", "parse_instant", "quick_cycle_id",
    "redact", "weekly_cycle_id",
]

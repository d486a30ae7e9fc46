"""Entry types: frozen facts with one shared envelope, told apart by ``kind``.

An entry's fingerprint hashes the canonical JSON of the fields that make it *the same fact* (its ``identity``);
posting the same fact twice stores it once. Its id is ``<kind>-<fingerprint>``, so a retried job that rebuilds
an entry gets the same id without reading anything back.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from enum import StrEnum
from functools import cache
from typing import Annotated, Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, JsonValue, TypeAdapter, ValidationError

from blackboard.errors import EntryDecodeError

SCHEMA_VERSION = 1
ENVELOPE_FIELDS = frozenset({"kind", "cycle_id", "agent", "created_at", "schema_version", "evidence"})


class Risk(StrEnum):
    LOW = "LOW"
    MEDIUM = "MEDIUM"
    HIGH = "HIGH"


class ProposalStatus(StrEnum):
    PENDING = "pending"
    AUTO_APPROVED = "auto_approved"
    APPROVED = "approved"
    REJECTED = "rejected"
    APPLIED = "applied"
    ROLLED_BACK = "rolled_back"
    SUPERSEDED = "superseded"


class Severity(StrEnum):
    SUSPECT = "suspect"
    ALERT = "alert"
    CRITICAL = "critical"


class StepStatus(StrEnum):
    STARTED = "started"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    SKIPPED = "skipped"


class SkipReason(StrEnum):
    NOT_IMPLEMENTED = "not_implemented"
    DISABLED = "disabled"
    NOTHING_TO_DO = "nothing_to_do"


def canonical_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


class EntryBase(BaseModel):
    """The envelope every entry shares."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    identity: ClassVar[tuple[str, ...]] = ()
    """Fields that make two entries the same fact; empty means ``cycle_id`` plus every payload field."""

    kind: str
    cycle_id: str = Field(min_length=1, max_length=200)
    agent: str = Field(min_length=1, max_length=100)
    created_at: datetime
    schema_version: int = SCHEMA_VERSION
    evidence: tuple[str, ...] = ()

    @classmethod
    @cache
    def identity_fields(cls) -> frozenset[str]:
        if cls.identity:
            return frozenset(cls.identity)
        return frozenset(name for name in cls.model_fields if name not in ENVELOPE_FIELDS) | {"cycle_id"}

    @property
    def fingerprint(self) -> str:
        identity = self.model_dump(mode="json", include=set(self.identity_fields()))
        identity["kind"] = self.kind
        return hashlib.sha256(canonical_json(identity).encode()).hexdigest()[:32]

    @property
    def id(self) -> str:
        return f"{self.kind}-{self.fingerprint}"

    def to_record(self) -> dict[str, Any]:
        """The entry as plain JSON data, with its id and fingerprint."""
        fingerprint = self.fingerprint
        return {"id": f"{self.kind}-{fingerprint}", "fingerprint": fingerprint, **self.model_dump(mode="json")}


class CatalogChange(EntryBase):
    """A model catalog moved: a model added, removed, repriced, resized, deprecated, ..."""

    kind: Literal["catalog_change"] = "catalog_change"
    identity: ClassVar[tuple[str, ...]] = ("cycle_id", "source", "model_id", "change", "field")
    source: str
    model_id: str
    change: str
    field: str | None = None
    old: JsonValue = None
    new: JsonValue = None
    details: dict[str, JsonValue] = Field(default_factory=dict)


class Finding(EntryBase):
    """Something research turned up: a paper, a lab post, a new release. The same item is one fact across cycles;
    a new version of a paper is a new fact (an update)."""

    kind: Literal["finding"] = "finding"
    identity: ClassVar[tuple[str, ...]] = ("source", "source_id", "version")
    source: str
    source_id: str
    title: str
    url: str | None = None
    summary: str = ""
    published_at: datetime | None = None
    score: float | None = None
    tags: tuple[str, ...] = ()
    version: int | None = None
    authors: tuple[str, ...] = ()
    links: tuple[str, ...] = ()
    also_from: tuple[str, ...] = ()
    topics: dict[str, float] = Field(default_factory=dict)
    matched: dict[str, list[str]] = Field(default_factory=dict)
    impact: Literal["high", "medium", "low"] | None = None


class Measurement(EntryBase):
    """One benchmark number for one model and category in one run."""

    kind: Literal["measurement"] = "measurement"
    identity: ClassVar[tuple[str, ...]] = ("cycle_id", "run_id", "model", "category", "metric")
    run_id: str
    model: str
    category: str
    metric: str
    value: float
    samples: int = 0
    details: dict[str, JsonValue] = Field(default_factory=dict)


class Regression(EntryBase):
    """A routed model got worse on a category (or overall), by a paired test against its baseline."""

    kind: Literal["regression"] = "regression"
    identity: ClassVar[tuple[str, ...]] = ("cycle_id", "model", "category", "metric", "phase")
    model: str
    category: str
    severity: Severity
    drop: float
    p_value: float | None = None
    baseline: float | None = None
    current: float | None = None
    metric: str = "score"  # score, latency_p95 or drift
    phase: str = "pre"  # pre (against the rolling baseline), verify (after a change, against this cycle's pre run)
    details: dict[str, JsonValue] = Field(default_factory=dict)  # baseline window, MDE, cases, confirmation


class Proposal(EntryBase):
    """A concrete change to the live configuration, with its risk class and the reason for it."""

    kind: Literal["proposal"] = "proposal"
    identity: ClassVar[tuple[str, ...]] = ("cycle_id", "proposal_id")
    proposal_id: str
    title: str
    risk: Risk
    risk_reason: str
    target: str
    change: dict[str, JsonValue] = Field(default_factory=dict)
    reason: str = ""


class Decision(EntryBase):
    """What happens to a proposal: applied automatically, gated for a person, approved or rejected by one."""

    kind: Literal["decision"] = "decision"
    identity: ClassVar[tuple[str, ...]] = ("cycle_id", "proposal_id", "decision")
    proposal_id: str
    decision: Literal["auto_apply", "gated", "approved", "rejected"]
    risk: Risk
    by: str
    reason: str = ""


class Applied(EntryBase):
    """A change made it into the live configuration."""

    kind: Literal["applied"] = "applied"
    identity: ClassVar[tuple[str, ...]] = ("proposal_id", "config_version")
    proposal_id: str
    config_version: int
    parent_version: int | None = None
    by: str
    dry_run: bool = False


class RolledBack(EntryBase):
    """An applied change was undone, with why."""

    kind: Literal["rolled_back"] = "rolled_back"
    identity: ClassVar[tuple[str, ...]] = ("proposal_id", "from_version")
    proposal_id: str | None = None
    from_version: int
    to_version: int
    by: str
    reason: str


class SourceError(EntryBase):
    """An upstream failed or answered badly; the step kept its last good data and went on."""

    kind: Literal["source_error"] = "source_error"
    identity: ClassVar[tuple[str, ...]] = ("cycle_id", "step", "source", "error_type")
    step: str
    source: str
    error_type: str
    message: str
    status_code: int | None = None
    url: str | None = None


class CycleEvent(EntryBase):
    """A step of a cycle started, succeeded, failed or was skipped (and why)."""

    kind: Literal["cycle_event"] = "cycle_event"
    identity: ClassVar[tuple[str, ...]] = ("cycle_id", "run", "step", "status")
    step: str
    status: StepStatus
    run: int = Field(ge=1)
    seconds: float | None = None
    reason: str = ""
    skip_reason: SkipReason | None = None
    summary: dict[str, JsonValue] = Field(default_factory=dict)


Entry = Annotated[
    CatalogChange
    | Finding
    | Measurement
    | Regression
    | Proposal
    | Decision
    | Applied
    | RolledBack
    | SourceError
    | CycleEvent,
    Field(discriminator="kind"),
]
ENTRY_ADAPTER: TypeAdapter[Entry] = TypeAdapter(Entry)
KINDS: dict[str, type[EntryBase]] = {
    cls.model_fields["kind"].default: cls
    for cls in (CatalogChange, Finding, Measurement, Regression, Proposal, Decision, Applied, RolledBack,
                SourceError, CycleEvent)
}


def decode_entry(body: str, expected_id: str | None = None) -> EntryBase:
    """Parse a stored entry, checking that its content still matches its id (stored beside it or inside it)."""
    try:
        data = json.loads(body)
        if not isinstance(data, dict):
            raise EntryDecodeError("entry body is not a JSON object")
        expected_id = data.pop("id", expected_id)
        data.pop("fingerprint", None)
        entry: EntryBase = ENTRY_ADAPTER.validate_python(data)
    except (ValueError, ValidationError) as exc:
        raise EntryDecodeError(f"undecodable entry: {exc}") from exc
    if expected_id is not None and expected_id != entry.id:
        raise EntryDecodeError(f"entry {expected_id} does not match its content (fingerprint {entry.fingerprint})")
    return entry


def encode_entry(entry: EntryBase) -> tuple[str, str]:
    """An entry's id and its stored body (the id is kept beside the body, not in it)."""
    return entry.id, entry.model_dump_json()

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from pydantic import ValidationError

from blackboard.entries import (
    KINDS,
    CatalogChange,
    CycleEvent,
    EntryDecodeError,
    Finding,
    Proposal,
    decode_entry,
    encode_entry,
)

NOW = datetime(2026, 11, 22, 3, 0, tzinfo=UTC)


def finding(**overrides: object) -> Finding:
    values: dict[str, object] = {"cycle_id": "2026-W47", "agent": "research", "created_at": NOW,
                                 "source": "arxiv", "source_id": "2611.00001", "title": "A paper"}
    values.update(overrides)
    return Finding(**values)  # type: ignore[arg-type]


def test_every_kind_has_a_stream_name_and_round_trips() -> None:
    assert set(KINDS) == {"catalog_change", "finding", "measurement", "regression", "proposal", "decision",
                          "applied", "rolled_back", "source_error", "cycle_event"}
    entry = CatalogChange(cycle_id="2026-W47", agent="catalog", created_at=NOW, source="openrouter",
                          model_id="openai/gpt-5", change="repriced", field="prompt", old="0.1", new="0.2")
    entry_id, body = encode_entry(entry)
    decoded = decode_entry(body, entry_id)
    assert decoded == entry and isinstance(decoded, CatalogChange) and entry_id == entry.id
    assert decode_entry(json.dumps(entry.to_record())) == entry  # a record with its id inside decodes too


def test_fingerprint_ignores_envelope_noise_but_not_identity() -> None:
    first = finding()
    assert finding(created_at=NOW + timedelta(hours=1), agent="other", title="Retitled").id == first.id
    assert finding(cycle_id="2026-W48").id == first.id  # a finding is the same fact across cycles
    assert finding(source_id="2611.00002").id != first.id


def test_default_identity_covers_cycle_and_payload() -> None:
    event = CycleEvent(cycle_id="2026-W47", agent="cycle", created_at=NOW, step="plan", status="started", run=1)
    assert event.model_copy(update={"run": 2}).id != event.id
    assert event.model_copy(update={"seconds": 3.0}).id == event.id  # seconds do not make another fact


def test_entries_are_frozen_and_strict() -> None:
    entry = finding()
    with pytest.raises(ValidationError):
        entry.title = "changed"  # type: ignore[misc]
    with pytest.raises(ValidationError):
        finding(unknown_field=1)
    with pytest.raises(ValidationError):
        Proposal(cycle_id="c", agent="planner", created_at=NOW, proposal_id="p", title="t", risk="EXTREME",
                 risk_reason="r", target="routing")  # type: ignore[arg-type]


def test_decode_rejects_tampering_and_garbage() -> None:
    entry_id, body = encode_entry(finding())
    forged = json.loads(body)
    forged["source_id"] = "forged"
    with pytest.raises(EntryDecodeError, match="does not match"):
        decode_entry(json.dumps(forged), entry_id)
    with pytest.raises(EntryDecodeError, match="does not match"):
        decode_entry(json.dumps({**forged, "id": entry_id}))
    for garbage in ("", "{", "[]", '{"kind": "nope"}', '{"kind": "finding"}'):
        with pytest.raises(EntryDecodeError):
            decode_entry(garbage)

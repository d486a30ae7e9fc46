"""Cycle records: what was triggered, with which options, which run is current, and how it ended."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

import redis
from pydantic import BaseModel, Field

from blackboard.keys import Keys

CycleKind = Literal["weekly", "quick"]


class CycleRecord(BaseModel):
    cycle_id: str
    kind: CycleKind
    dry_run: bool = False
    benchmarks: bool = True
    created_at: datetime
    run: int = 0
    run_steps: list[str] = Field(default_factory=list)
    finished_at: datetime | None = None
    safe: bool | None = None
    safety_reasons: list[str] = Field(default_factory=list)
    report_path: str | None = None


_OPEN = """
if redis.call('EXISTS', KEYS[1]) == 0 then
  redis.call('HSET', KEYS[1], 'record', ARGV[1])
  redis.call('ZADD', KEYS[2], ARGV[2], ARGV[3])
  return 1
end
return 0
"""


class CycleBook:
    """Stores one record per cycle (the first trigger's options win) and lists recent cycles."""

    def __init__(self, client: redis.Redis, keys: Keys) -> None:
        self.client = client
        self.keys = keys
        self._open = client.register_script(_OPEN)

    def open(self, record: CycleRecord) -> tuple[CycleRecord, bool]:
        created = bool(self._open(
            keys=[self.keys.cycle(record.cycle_id), self.keys.cycles()],
            args=[record.model_dump_json(), record.created_at.timestamp(), record.cycle_id],
        ))
        current = self.get(record.cycle_id)
        assert current is not None
        return current, created

    def get(self, cycle_id: str) -> CycleRecord | None:
        raw = self.client.hget(self.keys.cycle(cycle_id), "record")
        return CycleRecord.model_validate_json(raw) if raw else None

    def save(self, record: CycleRecord) -> None:
        self.client.hset(self.keys.cycle(record.cycle_id), "record", record.model_dump_json())

    def recent(self, limit: int = 10) -> list[CycleRecord]:
        ids = self.client.zrevrange(self.keys.cycles(), 0, limit - 1)
        return [record for cid in ids if (record := self.get(str(cid))) is not None]

    def start_run(self, cycle_id: str, steps: list[str]) -> CycleRecord:
        """Begin the next run of a cycle (a first run, or a resume) over the given steps."""
        record = self.get(cycle_id)
        assert record is not None, cycle_id
        record = record.model_copy(update={"run": record.run + 1, "run_steps": steps, "finished_at": None,
                                           "safe": None, "safety_reasons": []})
        self.save(record)
        return record

    def finish(self, cycle_id: str, at: datetime, safe: bool, reasons: list[str], report_path: str | None) -> None:
        record = self.get(cycle_id)
        assert record is not None, cycle_id
        update = {"finished_at": at, "safe": safe, "safety_reasons": reasons}
        if report_path is not None:
            update["report_path"] = report_path
        self.save(record.model_copy(update=update))

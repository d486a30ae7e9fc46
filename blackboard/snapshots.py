"""Catalog snapshots: the last good catalog of each source, its tombstones and health, saved atomically."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import redis

from blackboard.keys import Keys


@dataclass
class Snapshot:
    source: str
    models: dict[str, dict[str, Any]]
    fetched_at: datetime
    cycle_id: str

    @property
    def count(self) -> int:
        return len(self.models)


class SnapshotBook:
    def __init__(self, client: redis.Redis, keys: Keys) -> None:
        self.client = client
        self.keys = keys

    def load(self, source: str) -> Snapshot | None:
        body: Any = self.client.get(self.keys.catalog_snapshot(source))
        meta: Any = self.client.hgetall(self.keys.catalog_meta(source))
        if not body or not meta:
            return None
        return Snapshot(source, json.loads(str(body)), datetime.fromisoformat(meta["fetched_at"]), meta["cycle_id"])

    def tombstones(self, source: str) -> dict[str, dict[str, Any]]:
        raw: Any = self.client.hgetall(self.keys.catalog_tombstones(source))
        return {model_id: json.loads(value) for model_id, value in raw.items()}

    def save(self, snapshot: Snapshot, tombstones: dict[str, dict[str, Any]]) -> None:
        """Replace the snapshot, its metadata and its tombstones in one transaction (never half of them)."""
        pipe = self.client.pipeline(transaction=True)
        pipe.set(self.keys.catalog_snapshot(snapshot.source), json.dumps(snapshot.models, separators=(",", ":")))
        pipe.hset(self.keys.catalog_meta(snapshot.source), mapping={
            "fetched_at": snapshot.fetched_at.isoformat(), "cycle_id": snapshot.cycle_id,
            "count": snapshot.count})
        pipe.delete(self.keys.catalog_tombstones(snapshot.source))
        if tombstones:
            pipe.hset(self.keys.catalog_tombstones(snapshot.source),
                      mapping={model_id: json.dumps(value) for model_id, value in tombstones.items()})
        pipe.execute()

    def health(self, source: str) -> dict[str, dict[str, Any]]:
        raw: Any = self.client.hgetall(self.keys.catalog_health(source))
        return {model_id: json.loads(value) for model_id, value in raw.items()}

    def save_health(self, source: str, health: dict[str, dict[str, Any]]) -> None:
        if health:
            self.client.hset(self.keys.catalog_health(source),
                             mapping={model_id: json.dumps(value) for model_id, value in health.items()})

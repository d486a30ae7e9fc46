"""Catalog snapshots: the last good catalog of each source, its tombstones and health, saved atomically."""

from __future__ import annotations

import json
from collections.abc import Callable
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


PREVIEW_SECONDS = 86400


class SnapshotBook:
    """The last good snapshots. With ``preview`` (a dry run's cycle id) every write goes to that preview's own keys,
    kept a day, and reads see the preview's snapshot where it has one: the last good snapshots stay as they were."""

    def __init__(self, client: redis.Redis, keys: Keys, preview: str | None = None) -> None:
        self.client = client
        self.keys = keys
        self.preview = preview

    def _written(self, source: str) -> str:
        return f"{source}@{self.preview}" if self.preview else source

    def _read(self, source: str, key_of: Callable[[str], str]) -> str:
        """The name to read a source's part under: the preview's if it wrote that part, else the last good one."""
        if self.preview and self.client.exists(key_of(self._written(source))):
            return self._written(source)
        return source

    def load(self, source: str) -> Snapshot | None:
        name = self._read(source, self.keys.catalog_meta)
        body: Any = self.client.get(self.keys.catalog_snapshot(name))
        meta: Any = self.client.hgetall(self.keys.catalog_meta(name))
        if not body or not meta:
            return None
        return Snapshot(source, json.loads(str(body)), datetime.fromisoformat(meta["fetched_at"]), meta["cycle_id"])

    def tombstones(self, source: str) -> dict[str, dict[str, Any]]:
        name = self._read(source, self.keys.catalog_meta)
        raw: Any = self.client.hgetall(self.keys.catalog_tombstones(name))
        return {model_id: json.loads(value) for model_id, value in raw.items()}

    def save(self, snapshot: Snapshot, tombstones: dict[str, dict[str, Any]]) -> None:
        """Replace the snapshot, its metadata and its tombstones in one transaction (never half of them)."""
        name = self._written(snapshot.source)
        parts = (self.keys.catalog_snapshot(name), self.keys.catalog_meta(name), self.keys.catalog_tombstones(name))
        pipe = self.client.pipeline(transaction=True)
        pipe.set(parts[0], json.dumps(snapshot.models, separators=(",", ":")))
        pipe.hset(parts[1], mapping={"fetched_at": snapshot.fetched_at.isoformat(), "cycle_id": snapshot.cycle_id,
                                     "count": snapshot.count})
        pipe.delete(parts[2])
        if tombstones:
            pipe.hset(parts[2], mapping={model_id: json.dumps(value) for model_id, value in tombstones.items()})
        if self.preview:
            for key in parts:
                pipe.expire(key, PREVIEW_SECONDS)
        pipe.execute()

    def health(self, source: str) -> dict[str, dict[str, Any]]:
        name = self._read(source, self.keys.catalog_health)
        raw: Any = self.client.hgetall(self.keys.catalog_health(name))
        return {model_id: json.loads(value) for model_id, value in raw.items()}

    def save_health(self, source: str, health: dict[str, dict[str, Any]]) -> None:
        if health:
            key = self.keys.catalog_health(self._written(source))
            self.client.hset(key, mapping={model_id: json.dumps(value) for model_id, value in health.items()})
            if self.preview:
                self.client.expire(key, PREVIEW_SECONDS)

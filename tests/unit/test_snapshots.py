"""A preview's snapshot book writes apart and reads its own first; the last good snapshots stay as they were."""

from __future__ import annotations

from datetime import UTC, datetime

import redis

from blackboard.keys import Keys
from blackboard.snapshots import PREVIEW_SECONDS, Snapshot, SnapshotBook

NOW = datetime(2026, 11, 22, 3, tzinfo=UTC)


def test_a_preview_never_writes_the_last_good_snapshot(fake_board_client: redis.Redis, keys: Keys) -> None:
    real = SnapshotBook(fake_board_client, keys)
    real.save(Snapshot("openrouter", {"a/one": {}}, NOW, "2026-W46"), {"a/gone": {"removed_at": "x"}})
    real.save_health("openrouter", {"a/one": {"samples": 1}})
    preview = SnapshotBook(fake_board_client, keys, preview="2026-W47-dry-1")
    assert preview.load("openrouter").models == {"a/one": {}}  # type: ignore[union-attr]  # nothing of its own yet
    preview.save(Snapshot("openrouter", {"a/one": {}, "a/two": {}}, NOW, "2026-W47-dry-1"), {})
    preview.save_health("openrouter", {"a/one": {"samples": 2}})
    assert set(preview.load("openrouter").models) == {"a/one", "a/two"}  # type: ignore[union-attr]
    assert preview.tombstones("openrouter") == {} and preview.health("openrouter") == {"a/one": {"samples": 2}}
    assert set(real.load("openrouter").models) == {"a/one"}  # type: ignore[union-attr]
    assert real.tombstones("openrouter") == {"a/gone": {"removed_at": "x"}}
    assert real.health("openrouter") == {"a/one": {"samples": 1}}
    assert 0 < fake_board_client.ttl(keys.catalog_snapshot("openrouter@2026-W47-dry-1")) <= PREVIEW_SECONDS
    assert fake_board_client.ttl(keys.catalog_snapshot("openrouter")) == -1

"""Benchmark runs in Redis: per-case records (so a run resumes), chunks of work that several workers claim, and
each model's history of valid runs (its rolling baseline).

A chunk is claimed with a lease (Redis server time, so a pinned logical clock cannot stall it); a chunk whose
worker died goes back to the queue when its lease runs out, and its finished cases are not asked again.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

import redis

from blackboard.keys import Keys

_PLAN = """
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], 'meta', ARGV[1])
for i = 3, #ARGV do redis.call('RPUSH', KEYS[2], ARGV[i]) end
redis.call('EXPIRE', KEYS[1], ARGV[2])
if #ARGV >= 3 then redis.call('EXPIRE', KEYS[2], ARGV[2]) end
return 1
"""

# KEYS: todo, claims; ARGV: lease ms. Expired claims go back to the queue first.
_CLAIM = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
for _, member in ipairs(redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now)) do
  redis.call('ZREM', KEYS[2], member)
  redis.call('RPUSH', KEYS[1], member)
end
local chunk = redis.call('LPOP', KEYS[1])
if not chunk then return false end
redis.call('ZADD', KEYS[2], now + tonumber(ARGV[1]), chunk)
return chunk
"""

_EXTEND = """
if not redis.call('ZSCORE', KEYS[1], ARGV[1]) then return 0 end
local t = redis.call('TIME')
redis.call('ZADD', KEYS[1], tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000) + tonumber(ARGV[2]), ARGV[1])
return 1
"""


def record_field(model: str, case_id: str) -> str:
    return f"{model}\n{case_id}"


class BenchRuns:
    def __init__(self, client: redis.Redis, keys: Keys, ttl_days: int = 180) -> None:
        self.client, self.keys, self.ttl = client, keys, ttl_days * 86400

    def plan(self, run_id: str, meta: Mapping[str, Any], chunks: Iterable[Mapping[str, Any]]) -> bool:
        """Write a run's description and its chunks of work at once; False if the run was planned before."""
        members = [json.dumps({"n": n, **chunk}, sort_keys=True) for n, chunk in enumerate(chunks)]
        script = self.client.register_script(_PLAN)
        return bool(script(keys=[self.keys.bench_run(run_id, "meta"), self.keys.bench_run(run_id, "todo")],
                           args=[json.dumps(dict(meta), default=str), self.ttl, *members]))

    def meta(self, run_id: str) -> dict[str, Any] | None:
        raw = self.client.hget(self.keys.bench_run(run_id, "meta"), "meta")
        return json.loads(str(raw)) if raw else None

    def claim(self, run_id: str, lease_ms: int) -> tuple[str, dict[str, Any]] | None:
        """The next chunk of work with a lease on it, or None when nothing is left to claim."""
        script = self.client.register_script(_CLAIM)
        raw = script(keys=[self.keys.bench_run(run_id, "todo"), self.keys.bench_run(run_id, "claims")],
                     args=[lease_ms])
        if not raw:
            return None
        member = raw.decode() if isinstance(raw, bytes) else str(raw)
        return member, json.loads(member)

    def extend(self, run_id: str, member: str, lease_ms: int) -> bool:
        script = self.client.register_script(_EXTEND)
        return bool(script(keys=[self.keys.bench_run(run_id, "claims")], args=[member, lease_ms]))

    def finish_chunk(self, run_id: str, member: str) -> None:
        self.client.zrem(self.keys.bench_run(run_id, "claims"), member)

    def outstanding(self, run_id: str) -> tuple[int, int]:
        """Chunks waiting, chunks claimed."""
        pipe = self.client.pipeline(transaction=False)
        pipe.llen(self.keys.bench_run(run_id, "todo"))
        pipe.zcard(self.keys.bench_run(run_id, "claims"))
        waiting, claimed = pipe.execute()
        return int(waiting), int(claimed)

    def save(self, run_id: str, model: str, case_id: str, record: Mapping[str, Any]) -> None:
        key = self.keys.bench_run(run_id, "records")
        pipe = self.client.pipeline(transaction=False)
        pipe.hset(key, record_field(model, case_id), json.dumps(dict(record), default=str))
        pipe.expire(key, self.ttl)
        pipe.execute()

    def finished(self, run_id: str) -> set[str]:
        return {str(f) for f in self.client.hkeys(self.keys.bench_run(run_id, "records"))}

    def records(self, run_id: str, model: str | None = None) -> list[dict[str, Any]]:
        raw: dict[str, str] = self.client.hgetall(self.keys.bench_run(run_id, "records"))  # type: ignore[assignment]
        found = [json.loads(value) for name, value in sorted(raw.items())
                 if model is None or str(name).split("\n", 1)[0] == model]
        return [record for record in found if isinstance(record, dict)]

    def remember(self, model: str, baseline_key: str, run_id: str, at: datetime) -> None:
        """Add a valid run to the model's history (idempotent)."""
        self.client.zadd(self.keys.bench_history(model, baseline_key), {run_id: at.timestamp()})

    def history(self, model: str, baseline_key: str, limit: int, before: datetime | None = None) -> list[str]:
        """The model's latest valid run ids under a baseline key, oldest first, excluding runs at/after ``before``."""
        top = f"({before.timestamp()}" if before is not None else "+inf"
        ids = self.client.zrevrangebyscore(self.keys.bench_history(model, baseline_key), top, "-inf",
                                           start=0, num=limit)
        return [str(i) for i in reversed(ids)]

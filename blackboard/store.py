"""The blackboard store: idempotent posts to one Redis stream per kind, reads by cycle, by time and by group."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import redis

from blackboard.clock import Clock
from blackboard.entries import KINDS, EntryBase, decode_entry, encode_entry
from blackboard.errors import EntryDecodeError, StoreUnavailable
from blackboard.keys import Keys

logger = logging.getLogger(__name__)

# Dedup check, XADD and both indexes in one atomic step: a retried or racing post stores the fact once.
_POST = """
local existing = redis.call('GET', KEYS[1])
if existing then return {0, existing} end
local sid = redis.call('XADD', KEYS[2], '*', 'id', ARGV[1], 'kind', ARGV[2], 'cycle', ARGV[3], 'body', ARGV[4])
redis.call('SET', KEYS[1], sid)
redis.call('ZADD', KEYS[3], redis.call('INCR', KEYS[5]), ARGV[2] .. '|' .. sid)
redis.call('ZADD', KEYS[4], ARGV[5], sid)
return {1, sid}
"""


@dataclass(frozen=True)
class Posted:
    """Where a post landed: ``created`` is false when the same fact was already there."""

    id: str
    stream_id: str
    created: bool


@dataclass(frozen=True)
class Delivery:
    """An entry handed to a consumer group reader; ack it (by stream id) once its outputs are posted."""

    stream_id: str
    entry: EntryBase
    redelivered: bool = False


@dataclass
class TrimReport:
    removed: dict[str, int] = field(default_factory=dict)
    held_back: dict[str, list[str]] = field(default_factory=dict)


def _sid(stream_id: str) -> tuple[int, int]:
    ms, _, seq = stream_id.partition("-")
    return int(ms), int(seq or 0)


class Blackboard:
    """Posts and reads entries. Works on a ``decode_responses=True`` client (real Redis or fakeredis)."""

    def __init__(self, client: redis.Redis, keys: Keys | None = None, clock: Clock | None = None) -> None:
        self.client = client
        self.keys = keys or Keys()
        self.clock = clock or Clock()
        self._post_script = client.register_script(_POST)

    # -- writing ------------------------------------------------------------------------------------------------

    def _post_args(self, entry: EntryBase) -> tuple[list[str], list[str | int]]:
        keys = [
            self.keys.dedup(entry.kind, entry.fingerprint),
            self.keys.stream(entry.kind),
            self.keys.cycle_index(entry.cycle_id),
            self.keys.time_index(entry.kind),
            self.keys.sequence(),
        ]
        created_ms = int(entry.created_at.timestamp() * 1000)
        return keys, [entry.id, entry.kind, entry.cycle_id, encode_entry(entry), created_ms]

    def post(self, entry: EntryBase) -> Posted:
        keys, args = self._post_args(entry)
        try:
            created, stream_id = self._post_script(keys=keys, args=args)
        except redis.ConnectionError as exc:
            raise StoreUnavailable(f"could not post {entry.kind}: {exc}") from exc
        return Posted(entry.id, str(stream_id), bool(created))

    def post_many(self, entries: Sequence[EntryBase], batch: int = 500) -> list[Posted]:
        """Post a batch in pipelined round trips; each post stays atomic and deduplicated."""
        results: list[Posted] = []
        try:
            for start in range(0, len(entries), batch):
                chunk = entries[start : start + batch]
                pipe = self.client.pipeline(transaction=False)
                for entry in chunk:
                    keys, args = self._post_args(entry)
                    self._post_script(keys=keys, args=args, client=pipe)
                for entry, (created, stream_id) in zip(chunk, pipe.execute(), strict=True):
                    results.append(Posted(entry.id, str(stream_id), bool(created)))
        except redis.ConnectionError as exc:
            raise StoreUnavailable(f"could not post a batch of {len(entries)}: {exc}") from exc
        return results

    # -- reading ------------------------------------------------------------------------------------------------

    def _decode(self, fields: dict[str, str], where: str) -> EntryBase | None:
        try:
            return decode_entry(fields.get("body", ""))
        except EntryDecodeError as exc:
            logger.warning("skipping undecodable entry %s: %s", where, exc)
            return None

    def _fetch(self, members: Iterable[tuple[str, str]]) -> list[EntryBase]:
        """Fetch (kind, stream id) pairs in one pipelined round trip, keeping their order."""
        wanted = list(members)
        pipe = self.client.pipeline(transaction=False)
        for kind, stream_id in wanted:
            pipe.xrange(self.keys.stream(kind), stream_id, stream_id)
        entries: list[EntryBase] = []
        for (kind, stream_id), found in zip(wanted, pipe.execute(), strict=True):
            if found:
                entry = self._decode(found[0][1], f"{kind}/{stream_id}")
                if entry is not None:
                    entries.append(entry)
        return entries

    def get(self, entry_id: str) -> EntryBase | None:
        kind, _, fingerprint = entry_id.rpartition("-")
        if kind not in KINDS:
            return None
        stream_id = self.client.get(self.keys.dedup(kind, fingerprint))
        return self._fetch([(kind, str(stream_id))])[0] if stream_id else None

    def read_cycle(self, cycle_id: str, kinds: Iterable[str] | None = None) -> list[EntryBase]:
        """Every entry posted for a cycle, in the order they were stored."""
        allowed = set(kinds) if kinds is not None else None
        members = []
        for member in self.client.zrange(self.keys.cycle_index(cycle_id), 0, -1):
            kind, _, stream_id = str(member).partition("|")
            if allowed is None or kind in allowed:
                members.append((kind, stream_id))
        return self._fetch(members)

    def read_window(self, kind: str, since: datetime, until: datetime) -> list[EntryBase]:
        """Entries of one kind whose ``created_at`` (the logical clock) lies in [since, until)."""
        low, high = int(since.timestamp() * 1000), int(until.timestamp() * 1000)
        stream_ids = self.client.zrangebyscore(self.keys.time_index(kind), low, f"({high}")
        return self._fetch((kind, str(sid)) for sid in stream_ids)

    def count(self, kind: str) -> int:
        return int(self.client.xlen(self.keys.stream(kind)))

    # -- consumer groups ----------------------------------------------------------------------------------------

    def ensure_group(self, kind: str, group: str) -> None:
        try:
            self.client.xgroup_create(self.keys.stream(kind), group, id="0", mkstream=True)
        except redis.ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise

    def read_group(
        self,
        kind: str,
        group: str,
        consumer: str,
        count: int = 100,
        block_ms: int | None = None,
        claim_idle_ms: int = 60_000,
        max_deliveries: int = 5,
    ) -> list[Delivery]:
        """Entries for a reader: its own unacked ones first, then stale ones of dead readers, then new ones.

        An entry delivered more than ``max_deliveries`` times, or one that no longer decodes, goes to the
        dead-letter stream and is acked there, so one poison entry cannot stall the reader.
        """
        self.ensure_group(kind, group)
        stream = self.keys.stream(kind)
        redelivered = True
        own: Any = self.client.xreadgroup(group, consumer, {stream: "0"}, count=count)
        raw: list[tuple[str, dict[str, str]]] = own[0][1] if own else []
        if not raw:
            claimed: Any = self.client.xautoclaim(stream, group, consumer, claim_idle_ms, "0-0", count=count)
            raw = claimed[1]
        if not raw:
            redelivered = False
            fresh: Any = self.client.xreadgroup(group, consumer, {stream: ">"}, count=count, block=block_ms)
            raw = fresh[0][1] if fresh else []
        deliveries_by_id = self._delivery_counts(stream, group, raw) if redelivered else {}
        out: list[Delivery] = []
        for stream_id, fields in raw:
            if not fields:  # deleted from the stream while pending
                self.client.xack(stream, group, stream_id)
                continue
            entry = self._decode(fields, f"{kind}/{stream_id}")
            if entry is None or deliveries_by_id.get(stream_id, 0) > max_deliveries:
                self._dead_letter(kind, group, stream_id, fields, "undecodable" if entry is None else "poison")
                continue
            out.append(Delivery(str(stream_id), entry, redelivered))
        return out

    def _delivery_counts(self, stream: str, group: str, raw: list[tuple[str, Any]]) -> dict[str, int]:
        if not raw:
            return {}
        pending = self.client.xpending_range(stream, group, min=raw[0][0], max=raw[-1][0], count=len(raw) * 2)
        return {str(p["message_id"]): int(p["times_delivered"]) for p in pending}

    def _dead_letter(self, kind: str, group: str, stream_id: str, fields: dict[str, str], why: str) -> None:
        logger.warning("dead-lettering %s/%s for group %s: %s", kind, stream_id, group, why)
        pipe = self.client.pipeline(transaction=True)
        pipe.xadd(self.keys.dead_letters(), {"kind": kind, "group": group, "stream_id": stream_id, "why": why,
                                             "body": fields.get("body", "")})
        pipe.xack(self.keys.stream(kind), group, stream_id)
        pipe.execute()

    def ack(self, kind: str, group: str, stream_ids: Sequence[str]) -> int:
        if not stream_ids:
            return 0
        return int(self.client.xack(self.keys.stream(kind), group, *stream_ids))

    def pending(self, kind: str, group: str) -> int:
        try:
            summary = self.client.xpending(self.keys.stream(kind), group)
        except redis.ResponseError:
            return 0
        return int(summary["pending"])

    # -- retention ----------------------------------------------------------------------------------------------

    def trim(self, older_than: timedelta, now: datetime | None = None, batch: int = 500) -> TrimReport:
        """Delete entries stored longer ago than ``older_than``, never past what a group has not acked or read.

        Held-back groups are named in the report (and logged): nothing unacked is ever dropped silently.
        """
        report = TrimReport()
        reference = now if now is not None else datetime.now().astimezone()
        cutoff = (int((reference - older_than).timestamp() * 1000), 0)
        for kind in KINDS:
            stream = self.keys.stream(kind)
            if not self.client.exists(stream):
                continue
            limit = cutoff
            for group in self.client.xinfo_groups(stream):
                name = str(group["name"])
                bound = _sid(str(group["last-delivered-id"]))
                bound = (bound[0], bound[1] + 1)
                if int(group["pending"]):
                    oldest = self.client.xpending(stream, name)["min"]
                    bound = min(bound, _sid(str(oldest)))
                if bound < limit:
                    limit = bound
                    report.held_back.setdefault(kind, []).append(name)
            if kind in report.held_back:
                logger.warning("trim of %s held back by unread or unacked entries of %s", kind,
                               ", ".join(report.held_back[kind]))
            report.removed[kind] = self._delete_before(kind, f"{limit[0]}-{limit[1]}", batch)
        return report

    def _delete_before(self, kind: str, bound: str, batch: int) -> int:
        stream = self.keys.stream(kind)
        removed = 0
        while True:
            old: list[tuple[str, dict[str, str]]] = self.client.xrange(  # type: ignore[assignment]
                stream, "-", f"({bound}", count=batch)
            if not old:
                return removed
            pipe = self.client.pipeline(transaction=True)
            for stream_id, fields in old:
                entry_id = fields.get("id", "")
                pipe.delete(self.keys.dedup(kind, entry_id.rpartition("-")[2]))
                pipe.zrem(self.keys.cycle_index(fields.get("cycle", "")), f"{kind}|{stream_id}")
                pipe.zrem(self.keys.time_index(kind), stream_id)
            pipe.xdel(stream, *[stream_id for stream_id, _ in old])
            pipe.execute()
            removed += len(old)
